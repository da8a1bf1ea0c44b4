/**
 * The CLI as a VSIX user reaches it: the launcher the "Add attention-inspector to the Terminal
 * PATH" command writes really runs the bundled dist/cli.js, and the snippets name node and
 * cli.js when no launcher is on PATH. The CUDA advice names the extension's own folder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CLI_NAME, cliProgram, onPath, writeLauncher } from '../../extension/cliLauncher';
import { exportPayload } from '../../extension/exportPayload';
import { missingProviderAdvice } from '../../server/capture/executionProvider';
import { repoRoot } from '../helpers/webviewBundle';

describe('the CLI for an installed extension', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a launcher that runs the bundled CLI, found on PATH by the shell', () => {
    const bin = join(dir, 'bin');
    const launcher = writeLauncher(bin, process.execPath, join(repoRoot, 'dist', 'cli.js'));
    assert.equal(statSync(launcher).mode & 0o111, 0o111, 'executable');
    assert.deepEqual(readdirSync(bin).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
    const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` };
    assert.ok(onPath(CLI_NAME, env));
    assert.ok(!onPath(CLI_NAME, { PATH: join(dir, 'nothing') }));
    const out = execFileSync('/bin/sh', ['-c', `${CLI_NAME} variants`], { env, encoding: 'utf8' });
    // The same listing as running dist/cli.js directly.
    assert.equal(out, execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'variants'], { encoding: 'utf8' }));
    assert.match(out, /flash/);
  });

  it('snippets name `node …/dist/cli.js` when the CLI is not on PATH, the launcher when it is', () => {
    const ext = '/home/u/.vscode/extensions/attention-inspector.attention-inspector-0.1.0';
    assert.equal(cliProgram(ext, false), `node ${ext}/dist/cli.js`);
    assert.equal(cliProgram('/odd path/ext', false), "node '/odd path/ext/dist/cli.js'");
    const msg = { type: 'export' as const, format: 'snippet' as const, name: 'a.sh', data: 'the cat' };
    const p = exportPayload(msg, '/m/tiny-gpt', cliProgram(ext, false));
    assert.equal(p.kind === 'clipboard' && p.text, `node ${ext}/dist/cli.js capture --model /m/tiny-gpt --text 'the cat' --out attention-out`);
    const q = exportPayload(msg, '/m/tiny-gpt', cliProgram(ext, true));
    assert.equal(q.kind === 'clipboard' && q.text, "attention-inspector capture --model /m/tiny-gpt --text 'the cat' --out attention-out");
  });

  it('the CUDA advice says what to run in the extension folder, and what works meanwhile', () => {
    const a = missingProviderAdvice('cuda', '/ext/node_modules/onnxruntime-node');
    assert.match(a, /cd "\/ext" && ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    assert.match(a, /Restart Runtime/);
    assert.match(a, /webgpu or cpu/);
    assert.doesNotMatch(a, /npm install/);
  });
});
