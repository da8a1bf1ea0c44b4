/**
 * attention/compareVariants over LSP (dist/server.js forked with --node-ipc) on samples/tiny-gpt
 * layer 1: exact scores 0 against itself, FlashAttention matches it, and linear attention's
 * metrics and maps equal a plain-TypeScript computation in this file (softmax attention and
 * Katharopoulos et al.'s elu+1 kernel on the same captured Q, K, V). Progress comes per
 * variant run and a cancel stops between variants.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  WorkDoneProgress,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { ListVariantsRequest } from '../../protocol/catalog';
import { CompareVariantsRequest, DEFAULT_COMPARE_VARIANTS } from '../../protocol/mechanisms';
import { decodeFloat32 } from '../../protocol/encoding';
import { OpenModelRequest } from '../../protocol/runtime';
import { headMap } from '../../server/lsp/mechanismsHandler';
import { openQkvSource } from '../../server/variants/qkvCapture';
import { VARIANTS } from '../../server/variants/registry';
import { maxDiff } from '../helpers/segmentCheck';
import { recordProgress, repoRoot, startRuntime } from '../helpers/serverBundle';

const SAMPLE = join(repoRoot, 'samples', 'tiny-gpt');
const TEXT = 'the cat sat on the mat and the cat sat on the dog';

/** Attention of every head by rows: out [heads, n, d] and the (implied) map [heads, n, n]. */
function attend(q: Float32Array, k: Float32Array, v: Float32Array, heads: number, n: number, d: number, causal: boolean, weight: (qi: number, kj: number) => number) {
  const out = new Float64Array(heads * n * d);
  const map = new Float64Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const w = new Float64Array(n);
      let sum = 0;
      for (let j = 0; j < n; j++) {
        if (causal && j > i) continue;
        w[j] = weight((h * n + i) * d, (h * n + j) * d);
        sum += w[j];
      }
      for (let j = 0; j < n; j++) {
        const p = w[j] / sum;
        map[(h * n + i) * n + j] = p;
        for (let c = 0; c < d; c++) out[(h * n + i) * d + c] += p * v[(h * n + j) * d + c];
      }
    }
  }
  return { out, map };
}

function relL2(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (a[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] ** 2;
    bb += b[i] ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Mean over rows of the Jensen-Shannon divergence in bits. */
function meanJs(p: ArrayLike<number>, q: ArrayLike<number>, cols: number): number {
  const rows = p.length / cols;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = p[r * cols + c];
      const b = q[r * cols + c];
      const mid = (a + b) / 2;
      if (a > 0) total += 0.5 * a * Math.log2(a / mid);
      if (b > 0) total += 0.5 * b * Math.log2(b / mid);
    }
  }
  return total / rows;
}

describe('attention/compareVariants over LSP (samples/tiny-gpt)', function () {
  this.timeout(60000);
  let child: ChildProcess;
  let conn: ProtocolConnection;
  let modelId: string;

  before(async () => {
    ({ child, conn } = await startRuntime({
      capabilities: { window: { workDoneProgress: true } },
      // A pause after each variant so the cancel below lands between two of them.
      initializationOptions: { layerPauseMs: 40 },
    }));
    modelId = (await conn.sendRequest(OpenModelRequest.type, { path: SAMPLE, executionProvider: 'cpu' })).modelId;
  });

  after(() => {
    if (child && child.exitCode === null) child.kill();
    conn?.dispose();
  });

  it('scores exact, flash and linear on layer 1 as an independent computation does', async () => {
    const token = 'compare-1';
    const { progress, reports: progressReports, dispose } = recordProgress(conn, token);
    const r = await conn.sendRequest(CompareVariantsRequest.type, {
      modelId, text: TEXT, layer: 1, head: 1, variants: ['exact', 'flash', 'linear'], seqLengths: [16, 40], repeats: 1, executionProvider: 'cpu', workDoneToken: token,
    });
    dispose();
    assert.equal(r.cancelled, false);
    assert.deepEqual(r.variants.map((v) => v.id), ['exact', 'flash', 'linear']);
    assert.deepEqual(r.tokens.slice(0, 4), ['[BOS]', 'the', 'cat', 'sat']);
    assert.deepEqual([r.heads, r.n, r.m, r.d, r.causal, r.head], [4, r.tokens.length, r.tokens.length, 119, true, 1]);
    const [exact, flash, linear] = r.variants;
    assert.equal(exact.relL2, 0);
    assert.ok(flash.relL2! < 1e-5, `flash relL2 ${flash.relL2}`);
    assert.ok(flash.js! < 1e-6);
    assert.match(linear.paper, /Katharopoulos/);

    // The same Q, K, V in process, then attention written out here.
    const source = await openQkvSource(SAMPLE, 1, 'cpu');
    const x = (await source.capture((await source.resolve({ text: TEXT })).ids)).inputs;
    await source.dispose();
    const { q, k, v, heads, n, d } = x;
    const ref = attend(q, k, v, heads, n, d, true, (qi, kj) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += q[qi + c] * k[kj + c];
      return Math.exp(s / Math.sqrt(d));
    });
    const phi = (t: number) => (t > 0 ? t + 1 : Math.exp(t));
    const lin = attend(q, k, v, heads, n, d, true, (qi, kj) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += phi(q[qi + c]) * phi(k[kj + c]);
      return s;
    });
    const close = (got: number | null, want: number, what: string) => assert.ok(got !== null && Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
    close(linear.relL2, relL2(lin.out, ref.out), 'linear relL2');
    close(linear.cosine, cosine(lin.out, ref.out), 'linear cosine');
    close(linear.js, meanJs(lin.map, ref.map, n), 'linear JS');
    assert.ok(linear.relL2! > 0.05, 'linear attention is not exact on this head mix');
    assert.equal(linear.massKept, null);

    // Maps: head 1 of each variant, full resolution at this length.
    const byId = Object.fromEntries(r.maps.map((m) => [m.id, m]));
    assert.deepEqual(Object.keys(byId).sort(), ['exact', 'flash', 'linear']);
    const head1 = (m: Float64Array) => m.slice(n * n, 2 * n * n);
    assert.deepEqual([byId.exact.rows, byId.exact.cols, byId.exact.pool], [n, n, 1]);
    assert.ok(maxDiff(decodeFloat32(byId.exact.data), head1(ref.map)) < 1e-5);
    assert.ok(maxDiff(decodeFloat32(byId.linear.data), head1(lin.map)) < 1e-5);
    // README: L1 H1 attends to the same token; the last "dog" has no earlier copy, so it looks at itself.
    assert.ok(decodeFloat32(byId.exact.data)[n * n - 1] > 0.9);

    // Scaling: every variant at every length, with the analytic figures of that length.
    assert.deepEqual(r.scaling.map((s) => `${s.id}@${s.n}`), ['exact@16', 'flash@16', 'linear@16', 'exact@40', 'flash@40', 'linear@40']);
    for (const s of r.scaling) assert.ok(s.latencyMs > 0 && s.estFlops > 0 && s.estBytes > 0, JSON.stringify(s));
    // Exact attention: QKᵀ and PV are 2·n²·d multiply-adds per head, so at least 4·h·n²·d FLOPs.
    const e40 = r.scaling.find((s) => s.id === 'exact' && s.n === 40)!;
    assert.ok(e40.estFlops >= 4 * heads * 40 * 40 * d && e40.estFlops < 5 * heads * 40 * 40 * d, String(e40.estFlops));
    assert.equal(e40.estBytes >= heads * 40 * 40 * 4, true, 'exact holds the n x n probabilities');

    assert.equal(progress[0].kind, 'begin');
    assert.equal(progress.at(-1)!.kind, 'end');
    const reports = progressReports();
    assert.equal(reports.length, 9);
    assert.equal(reports.at(-1)!.percentage, 100);
    assert.match(reports.at(-1)!.message!, /linear at n = 40 \(9 of 9\)/);
  });

  it('stops between variants when cancelled', async () => {
    const token = 'compare-cancel';
    const cts = new CancellationTokenSource();
    const sub = conn.onProgress(WorkDoneProgress.type, token, (p) => {
      if (p.kind === 'report') cts.cancel();
    });
    const r = await conn.sendRequest(CompareVariantsRequest.type, {
      modelId, text: TEXT, layer: 1, variants: ['exact', 'flash', 'chunked', 'linear', 'performer'], seqLengths: [32], repeats: 1, executionProvider: 'cpu', workDoneToken: token,
    }, cts.token);
    sub.dispose();
    assert.equal(r.cancelled, true);
    assert.ok(r.variants.length >= 1 && r.variants.length < 5, `${r.variants.length} variants ran`);
    assert.deepEqual(r.scaling, []);
    assert.equal(r.maps.length, r.variants.length);
  });

  it("serves the registry's variants for the Compare command's pick list (attention/listVariants)", async () => {
    const list = await conn.sendRequest(ListVariantsRequest.type, {});
    assert.deepEqual(list.filter((v) => v.runnable).map((v) => [v.id, v.paper]), VARIANTS.map((v) => [v.id, v.paper]));
    for (const id of DEFAULT_COMPARE_VARIANTS) assert.ok(list.some((v) => v.id === id && v.runnable), id);
  });

  it('pools a long map of the selected head to block maxima', () => {
    const heads = 2;
    const n = 600;
    const data = new Float32Array(heads * n * n).map((_, i) => ((i * 2654435761) % 1000) / 1000);
    const m = headMap('exact', data, [heads, n, n], 1)!;
    // 600 / 256 rounds up to blocks of 3: 200 x 200 cells.
    assert.deepEqual([m.rows, m.cols, m.pool], [200, 200, 3]);
    const got = decodeFloat32(m.data);
    for (const [r, c] of [[0, 0], [17, 123], [199, 199]]) {
      let want = -Infinity;
      for (let i = 3 * r; i < 3 * r + 3; i++) for (let j = 3 * c; j < 3 * c + 3; j++) want = Math.max(want, data[(n + i) * n + j]);
      assert.equal(got[r * 200 + c], want, `cell ${r}, ${c}`);
    }
    assert.equal(headMap('moa', data, [1, 2, heads * n * n / 2], 1), undefined, 'a map with fewer heads than the selected one is left out');
  });

  it('answers bad input with one line', async () => {
    await assert.rejects(
      conn.sendRequest(CompareVariantsRequest.type, { modelId, text: TEXT, layer: 1, variants: ['exact', 'nope'] }),
      (e: Error) => /unknown attention variant "nope"/.test(e.message) && !e.message.includes('\n'),
    );
    await assert.rejects(
      conn.sendRequest(CompareVariantsRequest.type, { modelId, text: TEXT, layer: 7, variants: ['exact'] }),
      /layer 7 is out of range \(the model has 2 attention layers/,
    );
    await assert.rejects(
      conn.sendRequest(CompareVariantsRequest.type, { modelId, text: TEXT, layer: 0, head: 4, variants: ['exact'] }),
      /head 4 is out of range \(layer 0 has 4 heads\)/,
    );
  });
});
