/**
 * A tokenizer that never finishes (a normalizer regex that backtracks catastrophically) does not
 * freeze the runtime (dist/server.js over --node-ipc): while it runs, other requests are
 * answered; the client's cancel ends the capture with RequestCancelled; the same model then
 * captures an ordinary text. With a short time limit the capture fails with one line instead.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from 'vscode-languageserver-protocol/node';
import { CaptureRequest, OpenModelRequest } from '../../protocol/runtime';
import { repoRoot, startRuntime, type StartedRuntime } from '../helpers/serverBundle';

const SAMPLE = join(repoRoot, 'samples/tiny-gpt');
/** 2^40 backtracking steps for (a+)+b: it does not finish within any test. */
const EVIL_TEXT = 'a'.repeat(40);

function evilModel(root: string): string {
  const dir = join(root, 'evil-tokenizer');
  mkdirSync(dir);
  cpSync(join(SAMPLE, 'model.onnx'), join(dir, 'model.onnx'));
  cpSync(join(SAMPLE, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const tok = JSON.parse(readFileSync(join(SAMPLE, 'tokenizer.json'), 'utf8'));
  tok.normalizer = { type: 'Sequence', normalizers: [tok.normalizer, { type: 'Replace', pattern: { Regex: '(a+)+b' }, content: 'x' }] };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return dir;
}

describe('a tokenizer stuck in a regex (runtime over LSP)', function () {
  this.timeout(120_000);
  const root = mkdtempSync(join(tmpdir(), 'attn-tok-lsp-'));
  const model = evilModel(root);
  let rt: StartedRuntime | undefined;
  afterEach(() => rt?.stop());
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps answering while it tokenizes, stops on cancel (RequestCancelled), then captures an ordinary text', async () => {
    // No time limit within the test: only the cancel can end the tokenizing.
    rt = await startRuntime({ env: { ...process.env, ATTENTION_INSPECTOR_TOKENIZE_TIMEOUT_MS: '600000' } });
    const { modelId } = await rt.conn.sendRequest(OpenModelRequest.type, { path: model, executionProvider: 'cpu' });
    const cts = new CancellationTokenSource();
    const stuck = rt.conn.sendRequest(CaptureRequest.type, { modelId, text: EVIL_TEXT, captureId: 'stuck' }, cts.token).then(
      () => assert.fail('the capture of the backtracking text finished'),
      (e: unknown) => e,
    );
    // Sent after the capture and handled after it started tokenizing: answered only if the
    // runtime's thread is free.
    const other = await rt.conn.sendRequest(OpenModelRequest.type, { path: SAMPLE, executionProvider: 'cpu' });
    assert.equal(other.name, 'tiny-gpt');
    cts.cancel();
    const err = await stuck;
    assert.ok(err instanceof ResponseError, String(err));
    assert.equal(err.code, LSPErrorCodes.RequestCancelled);
    const ok = await rt.conn.sendRequest(CaptureRequest.type, { modelId, text: 'the cat sat', captureId: 'after' });
    assert.deepEqual(ok.tokens, ['[BOS]', 'the', 'cat', 'sat']);
    assert.equal(ok.layers.length, 2);
  });

  it('refuses a text far over maxTokens from a prefix, without tokenizing all of it', async () => {
    rt = await startRuntime();
    const { modelId } = await rt.conn.sendRequest(OpenModelRequest.type, { path: SAMPLE, executionProvider: 'cpu' });
    // About 4 MB of words: 600,000+ tokens; the limit is 100.
    const words = readFileSync(join(repoRoot, 'samples/texts/long.txt'), 'utf8');
    const text = Array.from({ length: 150 }, () => words).join(' ');
    const err = await rt.conn.sendRequest(CaptureRequest.type, { modelId, text, maxTokens: 100 }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ResponseError, String(err));
    const m = /more than 100 tokens \(its first ([\d,]+) characters already give (\d+)\)/.exec(err.message);
    assert.ok(m, err.message);
    const read = Number(m[1].replace(/,/g, ''));
    assert.ok(read < text.length / 100 && Number(m[2]) > 100, `${read} of ${text.length} characters tokenized`);
  });

  it('fails the capture with a one-line error at the time limit', async () => {
    rt = await startRuntime({ env: { ...process.env, ATTENTION_INSPECTOR_TOKENIZE_TIMEOUT_MS: '500' } });
    const { modelId } = await rt.conn.sendRequest(OpenModelRequest.type, { path: model, executionProvider: 'cpu' });
    const err = await rt.conn.sendRequest(CaptureRequest.type, { modelId, text: EVIL_TEXT }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ResponseError, String(err));
    assert.equal(err.code, LSPErrorCodes.RequestFailed);
    assert.match(err.message, /evil-tokenizer\/tokenizer\.json: tokenizing took longer than 0\.5 s and was stopped/);
    assert.ok(!err.message.includes('\n') && !/internal error/.test(err.message), err.message);
  });
});
