/**
 * config.json intelligence as VS Code sees it: dist/server.js forked with --node-ipc, a sample
 * config opened with didOpen, a hover on num_key_value_heads whose numbers are computed here
 * from the published shape, diagnostics on a broken config, CodeLenses, and attention/estimate.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CodeLensRequest,
  DidOpenTextDocumentNotification,
  HoverRequest,
  PublishDiagnosticsNotification,
  type Diagnostic,
  type MarkupContent,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { EstimateRequest, EstimateSweepRequest } from '../../protocol/efficiency';
import { repoRoot, startRuntime } from '../helpers/serverBundle';
import { costedVariants } from '../../server/variants/registry';

function positionOf(text: string, needle: string): { line: number; character: number } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `${needle} not in the text`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length + 2 };
}

describe('config.json intelligence over LSP (dist/server.js)', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'attn-config-'));
  let child: ChildProcess;
  let conn: ProtocolConnection;
  const diagnostics = new Map<string, Diagnostic[]>();
  const waiters: (() => void)[] = [];

  function open(path: string, text: string): string {
    const uri = pathToFileURL(path).toString();
    conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
    return uri;
  }

  async function diagnosticsFor(uri: string): Promise<Diagnostic[]> {
    const deadline = Date.now() + 20000;
    while (!diagnostics.has(uri)) {
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri}`);
      await new Promise<void>((r) => waiters.push(r));
    }
    return diagnostics.get(uri)!;
  }

  before(async () => {
    const runtime = await startRuntime({
      register: (c) =>
        c.onNotification(PublishDiagnosticsNotification.type, (p) => {
          diagnostics.set(p.uri, p.diagnostics);
          waiters.splice(0).forEach((w) => w());
        }),
    });
    ({ child, conn } = runtime);
    assert.ok(runtime.init.capabilities.hoverProvider);
    assert.ok(runtime.init.capabilities.codeLensProvider);
  });

  after(() => {
    if (child && child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hovers num_key_value_heads of Llama-3-8B with its KV cache figures', async () => {
    const path = join(repoRoot, 'samples/configs/llama-3-8b/config.json');
    const text = readFileSync(path, 'utf8');
    const uri = open(path, text);
    const hover = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(text, '"num_key_value_heads"') });
    const md = (hover?.contents as MarkupContent).value;
    // Published shape: 32 layers, 32 query heads, 8 KV heads of 128, bf16, 8,192 positions.
    const perToken = 2 * 32 * 8 * 128 * 2;
    assert.equal(perToken, 131072);
    assert.match(md, /num_key_value_heads = 8/);
    assert.match(md, /32 query heads in 8 groups of 4/);
    assert.ok(md.includes(`128 KiB (${perToken.toLocaleString('en-US')} B)`), md);
    assert.ok(md.includes(`1 GiB (${(perToken * 8192).toLocaleString('en-US')} B)`), md);
    assert.match(md, /\| head dim \| 128 \|/);
    assert.match(md, /MHA\) it would be 512 KiB/);
    // QKᵀ + AV at n = 8,192: 4·n²·d with d = 4,096 = 1.1 TFLOP; the n x n matrix of 32 heads in bf16 is 4 GiB.
    assert.equal(((4 * 8192 * 8192 * 4096) / 1e12).toPrecision(2), '1.1');
    assert.match(md, /attention-score FLOPs per layer \(QKᵀ \+ AV\) \| 1\.1 TFLOP/);
    assert.match(md, /attention matrix per layer, standard \| 4 GiB/);
    assert.match(md, /FlashAttention \| 1 MiB/); // 2 statistics x 32 heads x 8,192 x 2 B
    assert.deepEqual(diagnostics.get(uri) ?? (await diagnosticsFor(uri)), []);
  });

  it('hovers GPT-2 keys (n_head) and Mistral-7B\'s sliding window', async () => {
    const gpt2 = join(repoRoot, 'samples/configs/gpt2/config.json');
    const gText = readFileSync(gpt2, 'utf8');
    const gUri = open(gpt2, gText);
    const g = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: gUri }, position: positionOf(gText, '"n_head"') });
    assert.match((g?.contents as MarkupContent).value, /attention-score FLOPs per layer \(QKᵀ \+ AV\) \| 3\.22 GFLOP/);
    const mistral = join(repoRoot, 'samples/configs/mistral-7b-v0.1/config.json');
    const mText = readFileSync(mistral, 'utf8');
    const mUri = open(mistral, mText);
    const m = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mUri }, position: positionOf(mText, '"sliding_window"') });
    const md = (m?.contents as MarkupContent).value;
    // 4,096 cached tokens x 128 KiB = 512 MiB at 32,768 positions, not 4 GiB.
    assert.match(md, /KV cache at 32,768 tokens \| 512 MiB \(536,870,912 B\)/);
    assert.match(md, /would be 4 GiB/);
    const none = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: mUri }, position: positionOf(mText, '"vocab_size"') });
    assert.equal(none, null);
  });

  it('reports diagnostics on a broken config at the offending values', async () => {
    const path = join(dir, 'broken', 'config.json');
    const text = JSON.stringify({ model_type: 'llama', hidden_size: 1000, num_attention_heads: 12, num_key_value_heads: 5, num_hidden_layers: 4, max_position_embeddings: 2048, sliding_window: 4096 }, null, 2);
    const uri = open(path, text);
    const diags = await diagnosticsFor(uri);
    const byCode = new Map(diags.map((d) => [String(d.code), d]));
    assert.deepEqual([...byCode.keys()].sort(), ['heads-not-divisible', 'hidden-not-divisible', 'window-above-context']);
    assert.equal(byCode.get('hidden-not-divisible')!.range.start.line, positionOf(text, '"num_attention_heads"').line);
    assert.match(String(byCode.get('hidden-not-divisible')!.message), /1000 is not divisible by num_attention_heads = 12/);
    assert.equal(byCode.get('heads-not-divisible')!.range.start.line, positionOf(text, '"num_key_value_heads"').line);
    assert.equal(byCode.get('window-above-context')!.severity, 2);
    // The hover explains why no figures can be derived instead of failing.
    const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(text, '"num_key_value_heads"') });
    assert.match((h?.contents as MarkupContent).value, /cannot derive figures.*not divisible/);
  });

  it('offers "Inspect attention" only when a checkpoint sits beside the config', async () => {
    const bare = join(dir, 'bare', 'config.json');
    const withWeights = join(dir, 'weights', 'config.json');
    const text = readFileSync(join(repoRoot, 'samples/configs/gpt2/config.json'), 'utf8');
    for (const p of [bare, withWeights]) {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, text);
    }
    writeFileSync(join(dir, 'weights', 'model.safetensors'), Buffer.alloc(8));
    const titles = async (p: string) => {
      const lenses = await conn.sendRequest(CodeLensRequest.type, { textDocument: { uri: open(p, text) } });
      return (lenses ?? []).map((l) => [l.command?.title, l.command?.command, l.command?.arguments?.[0]]);
    };
    assert.deepEqual(await titles(bare), [['Estimate attention cost', 'attentionInspector.estimateCost', join(dir, 'bare')]]);
    assert.deepEqual((await titles(withWeights)).map((t) => t[1]), ['attentionInspector.estimateCost', 'attentionInspector.inspectModel']);
  });

  it('offers "Inspect attention" beside Hugging Face weights only for a family the runtime builds; the model_type hover says which builder', async () => {
    const t5 = join(dir, 't5-weights', 'config.json');
    const text = readFileSync(join(repoRoot, 'samples/configs/t5-base/config.json'), 'utf8');
    mkdirSync(join(t5, '..'), { recursive: true });
    writeFileSync(t5, text);
    writeFileSync(join(dir, 't5-weights', 'model.safetensors'), Buffer.alloc(8));
    const uri = open(t5, text);
    const lenses = await conn.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
    assert.deepEqual((lenses ?? []).map((l) => l.command?.command), ['attentionInspector.estimateCost']);
    const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(text, '"model_type"') });
    assert.match((h?.contents as MarkupContent).value, /model_type = "t5".*cost estimates only; the runtime builds gpt2, bert, roberta, llama, mistral, qwen2, gemma/);
    const qwenText = readFileSync(join(repoRoot, 'samples/configs/qwen2-7b/config.json'), 'utf8');
    const qwen = await conn.sendRequest(HoverRequest.type, { textDocument: { uri: open(join(dir, 'qwen2', 'config.json'), qwenText) }, position: positionOf(qwenText, '"model_type"') });
    assert.match((qwen?.contents as MarkupContent).value, /model_type = qwen2\*\* \(Yang et al\. 2024.*llama graph builder/);
  });

  it('answers attention/estimate with the CLI figures', async () => {
    const r = (await conn.sendRequest(EstimateRequest.method, { configPath: join(repoRoot, 'samples/configs/llama-2-7b'), seq: 4096, dtype: 'fp16' })) as { kvCacheBytesPerToken: number; kvCacheBytes: number };
    assert.equal(r.kvCacheBytesPerToken, 2 * 32 * 32 * 128 * 2);
    assert.equal(r.kvCacheBytes, 4096 * 2 * 32 * 32 * 128 * 2);
    await assert.rejects(conn.sendRequest(EstimateRequest.method, { configPath: join(dir, 'nothing'), seq: 8 }), /nothing: no such file/);
  });

  it('answers attention/estimateSweep with curves and the table for the Efficiency panel', async () => {
    const r = (await conn.sendRequest(EstimateSweepRequest.method, { configPath: join(repoRoot, 'samples/configs/mistral-7b-v0.1/config.json'), seqs: [2048, 4096, 8192], tableSeq: 8192, dtype: 'bf16' })) as EstimateSweepRequest.Result;
    assert.equal(r.modelName, 'mistral-7b-v0.1');
    assert.equal(r.maxPositions, 32768);
    const perToken = 2 * 32 * 8 * 128 * 2;
    assert.deepEqual(r.curves.variants.exact.kvCacheBytes, [2048 * perToken, 4096 * perToken, 4096 * perToken]);
    assert.equal(r.curves.rows.length, costedVariants().length);
    assert.ok(r.curves.byHardware['h100-sxm'].flash.every((t, i) => t > 0 && (i === 0 || t >= r.curves.byHardware['h100-sxm'].flash[i - 1])));
  });
});
