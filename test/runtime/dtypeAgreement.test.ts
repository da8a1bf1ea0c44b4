/**
 * The config.json hover and the Efficiency panel agree on precision: both start from the
 * config's torch_dtype (Gemma-2-9B's sample config says float32), and both follow the
 * attentionInspector.estimateDtype setting when the client pushes it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DidChangeConfigurationNotification, DidOpenTextDocumentNotification, HoverRequest, type MarkupContent, type ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { EstimateSweepRequest } from '../../protocol/efficiency';
import { repoRoot, startRuntime } from '../helpers/serverBundle';

function positionOf(text: string, needle: string): { line: number; character: number } {
  const before = text.slice(0, text.indexOf(needle) + 1).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

describe('precision: hover and Efficiency panel agree (runtime over LSP)', function () {
  this.timeout(60000);
  let child: ChildProcess;
  let conn: ProtocolConnection;
  const path = join(repoRoot, 'samples/configs/gemma-2-9b/config.json');
  const text = readFileSync(path, 'utf8');
  const cfg = JSON.parse(text) as { num_hidden_layers: number; num_key_value_heads: number; head_dim: number };
  let uri: string;

  before(async () => {
    ({ child, conn } = await startRuntime());
    uri = pathToFileURL(path).toString();
    conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
  });

  after(() => {
    if (child && child.exitCode === null) child.kill();
  });

  async function hoverPerToken(): Promise<string> {
    const hover = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(text, '"num_key_value_heads"') });
    const md = (hover?.contents as MarkupContent).value;
    return md.match(/\| KV cache per token \| ([^|]+) \|/)![1].trim();
  }

  async function panelDtype(): Promise<string | undefined> {
    const r = (await conn.sendRequest(EstimateSweepRequest.method, { configPath: path, seqs: [128], tableSeq: 128 })) as EstimateSweepRequest.Result;
    return r.dtype;
  }

  it('both use the config torch_dtype (float32) by default, then the setting', async () => {
    const per = (bytes: number) => 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * cfg.head_dim * bytes;
    assert.equal(await panelDtype(), 'fp32');
    assert.ok((await hoverPerToken()).includes(`(${per(4).toLocaleString('en-US')} B)`), await hoverPerToken());
    conn.sendNotification(DidChangeConfigurationNotification.type, { settings: { attentionInspector: { estimateDtype: 'fp16' } } });
    assert.equal(await panelDtype(), 'fp16');
    assert.ok((await hoverPerToken()).includes(`(${per(2).toLocaleString('en-US')} B)`), await hoverPerToken());
    conn.sendNotification(DidChangeConfigurationNotification.type, { settings: { attentionInspector: { estimateDtype: 'config' } } });
    assert.equal(await panelDtype(), 'fp32');
  });
});
