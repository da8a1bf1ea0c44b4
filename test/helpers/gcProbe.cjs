/**
 * Test-only preload for the runtime process (`node --expose-gc -r test/helpers/gcProbe.cjs
 * dist/server.js`): on SIGUSR2 it runs full garbage collections and writes "gc-rss <bytes>" to
 * stderr, so a test reads the runtime's resident memory once nothing unreachable is left, without
 * a hook in the runtime itself. Plain CommonJS: it loads before the bundle, without tsx.
 */
/* global process */
'use strict';
process.on('SIGUSR2', () => {
  // Twice: the first pass can leave finalizers whose buffers only the second frees.
  globalThis.gc();
  globalThis.gc();
  process.stderr.write(`gc-rss ${process.memoryUsage().rss}\n`);
});
