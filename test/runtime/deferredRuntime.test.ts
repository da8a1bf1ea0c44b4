/**
 * The runtime serves config.json hovers, estimates and the model list without loading
 * onnxruntime-node, and loads it on the first model request. Read from /proc/<pid>/maps of the
 * forked dist/server.js (Linux): the native library shows there once it is loaded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DidOpenTextDocumentNotification, HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { EstimateSweepRequest, HardwareProfilesRequest } from '../../protocol/efficiency';
import { ListModelsRequest, OpenModelRequest, RuntimeInfoRequest } from '../../protocol/runtime';
import { repoRoot, startRuntime, type StartedRuntime } from '../helpers/serverBundle';

/** The onnxruntime shared objects mapped into a process (its binding and libonnxruntime). */
function onnxruntimeMapped(pid: number): string[] {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  return [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => /onnxruntime/.test(p)))];
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

describe('the runtime loads onnxruntime-node only for model requests (dist/server.js)', function () {
  this.timeout(120000);
  let rt: StartedRuntime;
  let pid: number;

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    rt = await startRuntime();
    pid = rt.child.pid!;
  });

  after(() => rt?.stop());

  it('answers a config.json hover, an estimate sweep and the model list with no onnxruntime mapped', async () => {
    const path = join(repoRoot, 'samples/configs/llama-3-8b/config.json');
    const text = readFileSync(path, 'utf8');
    const uri = pathToFileURL(path).toString();
    rt.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
    const line = text.slice(0, text.indexOf('"num_key_value_heads"')).split('\n').length - 1;
    const hover = await rt.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character: 4 } });
    assert.match((hover?.contents as MarkupContent).value, /num_key_value_heads = 8/);
    const sweep = await rt.conn.sendRequest(EstimateSweepRequest.type, { configPath: path, seqs: [128, 256], tableSeq: 256 });
    assert.equal(sweep.maxPositions, 8192);
    const profiles = await rt.conn.sendRequest(HardwareProfilesRequest.type, { includeLocal: false });
    assert.ok(profiles.length > 0);
    await rt.conn.sendRequest(ListModelsRequest.type, { workspaceFolders: [join(repoRoot, 'samples')], hubCache: false });
    assert.deepEqual(onnxruntimeMapped(pid), []);
    const info = await rt.conn.sendRequest(RuntimeInfoRequest.type, {});
    assert.equal(info.onnxruntimeLoaded, false);
    assert.equal(info.pid, pid);
    assert.deepEqual(info.models, []);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string };
    assert.equal(info.onnxruntimeVersion, pkg.version);
    // The malloc settings it started with (the extension adds huge pages; this test starts it as is).
    if (process.platform === 'linux') assert.equal(info.glibcTunables, process.env.GLIBC_TUNABLES ?? null);
    console.log(`      runtime RSS after a hover, a sweep and the model list: ${(rssKiB(pid) / 1024).toFixed(1)} MiB`);
  });

  it('loads onnxruntime on the first Open Model and lists the model in attention/runtimeInfo', async () => {
    const model = join(repoRoot, 'samples/tiny-gpt/model.onnx');
    const opened = await rt.conn.sendRequest(OpenModelRequest.type, { path: model, executionProvider: 'cpu' });
    assert.equal(opened.layers.length, 2);
    assert.ok(onnxruntimeMapped(pid).length > 0, 'onnxruntime is not mapped after a model was opened');
    const info = await rt.conn.sendRequest(RuntimeInfoRequest.type, {});
    assert.equal(info.onnxruntimeLoaded, true);
    assert.deepEqual(info.models.map((m) => [m.modelId, m.layers, m.heads]), [[opened.modelId, 2, 4]]);
    console.log(`      runtime RSS with the sample model open: ${(rssKiB(pid) / 1024).toFixed(1)} MiB`);
  });

  it('answers an unknown attention/ request with MethodNotFound', async () => {
    await assert.rejects(rt.conn.sendRequest('attention/noSuchRequest', {}), /no request attention\/noSuchRequest/);
  });
});
