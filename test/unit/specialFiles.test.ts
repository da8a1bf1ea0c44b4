/**
 * FIFOs, devices and sockets named like model files. Opening a FIFO blocks until a writer
 * comes, so each case runs the real CLI (dist/cli.js) in a child process with a deadline: a
 * hang shows as a timeout here instead of freezing the test run. Every case must end with exit
 * 1 and one line that names the file and says what it is.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpt2Fixture } from '../helpers/hfFixtures';
import { ensureServerBundle, repoRoot } from '../helpers/serverBundle';
import { writeHfFolder } from '../helpers/writeCheckpoint';

const SAMPLE = join(repoRoot, 'samples/tiny-gpt');
const CLI = join(repoRoot, 'dist/cli.js');
const root = mkdtempSync(join(tmpdir(), 'attn-special-'));
const DEADLINE_MS = 30_000;

function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

function cli(args: string[]): { status: number | null; stderr: string; timedOut: boolean } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: DEADLINE_MS, env: { ...process.env, ATTENTION_INSPECTOR_DEBUG: '' } });
  return { status: r.status, stderr: r.stderr ?? '', timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' };
}

function refused(args: string[], file: RegExp, kind: RegExp): string {
  const r = cli(args);
  assert.ok(!r.timedOut, `hung: ${args.join(' ')}`);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], file);
  assert.match(lines[0], kind);
  assert.match(lines[0], /not a regular file/);
  return lines[0];
}

describe('special files named like models, tokenizers and configs are refused, never opened', function () {
  this.timeout(180_000);
  let socketServer: Server | undefined;
  before(async () => {
    // `npm test` builds dist/ first; this rebuilds it when the sources are newer.
    await ensureServerBundle();
  });
  after(() => {
    socketServer?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('model.onnx that is a FIFO, in a folder and given directly', () => {
    const dir = join(root, 'onnx-fifo');
    mkdirSync(dir);
    cpSync(join(SAMPLE, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    fifo(join(dir, 'model.onnx'));
    const out = join(root, 'out1');
    refused(['capture', '--model', dir, '--text', 'the cat', '--out', out], /onnx-fifo\/model\.onnx/, /a FIFO \(named pipe\)/);
    refused(['capture', '--model', join(dir, 'model.onnx'), '--ids', '1,2', '--out', out], /onnx-fifo\/model\.onnx/, /FIFO/);
  });

  it('tokenizer.json that is a FIFO beside a real model', () => {
    const dir = join(root, 'tok-fifo');
    mkdirSync(dir);
    cpSync(join(SAMPLE, 'model.onnx'), join(dir, 'model.onnx'));
    fifo(join(dir, 'tokenizer.json'));
    refused(['capture', '--model', dir, '--text', 'the cat', '--out', join(root, 'out2')], /tok-fifo\/tokenizer\.json/, /FIFO/);
  });

  it('a Hugging Face folder whose model.safetensors or config.json is a FIFO', () => {
    const { config, tensors } = gpt2Fixture();
    const a = join(root, 'hf-weights-fifo');
    writeHfFolder(a, config, tensors);
    rmSync(join(a, 'model.safetensors'));
    fifo(join(a, 'model.safetensors'));
    refused(['capture', '--model', a, '--ids', '1,2,3', '--out', join(root, 'out3')], /hf-weights-fifo\/model\.safetensors/, /FIFO/);
    const b = join(root, 'hf-config-fifo');
    writeHfFolder(b, config, tensors);
    rmSync(join(b, 'config.json'));
    fifo(join(b, 'config.json'));
    refused(['capture', '--model', b, '--ids', '1,2,3', '--out', join(root, 'out4')], /hf-config-fifo\/config\.json/, /FIFO/);
    refused(['estimate', '--config', join(b, 'config.json'), '--seq', '128'], /hf-config-fifo\/config\.json/, /FIFO/);
  });

  it('--text-file that is a FIFO, a character device or a socket', async () => {
    const out = join(root, 'out5');
    refused(['capture', '--model', SAMPLE, '--text-file', fifo(join(root, 'text.fifo')), '--out', out], /text\.fifo/, /FIFO/);
    refused(['capture', '--model', SAMPLE, '--text-file', '/dev/zero', '--out', out], /\/dev\/zero/, /a character device/);
    const sock = join(root, 'text.sock');
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer!.listen(sock, resolve));
    refused(['capture', '--model', SAMPLE, '--text-file', sock, '--out', out], /text\.sock/, /a socket/);
  });

  it('a Hugging Face cache whose refs/main is a FIFO is still listed (the ref is skipped, not read)', () => {
    const cache = join(root, 'hub');
    const snap = join(cache, 'models--org--tiny', 'snapshots', 'abc123');
    mkdirSync(snap, { recursive: true });
    cpSync(SAMPLE, snap, { recursive: true });
    mkdirSync(join(cache, 'models--org--tiny', 'refs'));
    fifo(join(cache, 'models--org--tiny', 'refs', 'main'));
    writeFileSync(join(root, 'list.ts'), `import { listHubCache } from ${JSON.stringify(join(repoRoot, 'server/discovery/hubCache'))};\nconsole.log(JSON.stringify(listHubCache(${JSON.stringify(cache)})));\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'list.ts')], { encoding: 'utf8', timeout: DEADLINE_MS, cwd: repoRoot });
    assert.equal(r.error, undefined, 'listing the cache hung');
    assert.equal(r.status, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as { name: string; revision: string; format: string }[];
    assert.deepEqual(listed.map((m) => [m.name, m.revision, m.format]), [['org/tiny', 'abc123', 'onnx']]);
  });
});
