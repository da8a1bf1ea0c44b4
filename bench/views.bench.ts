/**
 * The Attention panel's cost (issue "Attention views"): headless Chromium runs the real panel
 * bundle (test/helpers/panelPage.ts) and is fed the messages the extension relays from the
 * runtime for a GPT-2-small-shaped model (12 layers x 12 heads), built by the server's own code
 * (captureHandler layerShare/choosePool/layerParams, with the settings' defaults from
 * package.json as extension/commands.ts sends them). Times run from the first layer message
 * posted in the page to the frame after the last one is handled (median of 3). 512 tokens: a
 * real capture of samples/scripts/make-bench-model.ts. 4,096 tokens: a real capture takes
 * minutes here, so the maps are causal softmaxes of seeded random scores with the same shapes,
 * pooled by the server's code. Bytes: the base64 data (+ meanData) of the attention/layer
 * notifications for one inspection. Prints a table and the ratios to the issue's aims.
 * VIEWS_SEND_MB=n runs it with another attentionInspector.sendBudgetMB.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { encodeFloat32 } from '../protocol/encoding';
import type { CaptureRequest, LayerNotification } from '../protocol/runtime';
import type { HostToWebview } from '../protocol/webview';
import { openModel } from '../server/capture/openModel';
import type { LayerMap } from '../server/capture/types';
import { layerNotification, layerParams, poolFor } from '../server/lsp/captureHandler';
import { poolMaps } from '../server/lsp/pooling';
import { makeGpt2SmallShaped } from '../samples/scripts/make-bench-model';
import { launchChromium } from '../test/helpers/chromium';
import { openPanelPage } from '../test/helpers/panelPage';
import { dragZoom } from '../test/helpers/panelProbe';

const LAYERS = 12;
const HEADS = 12;
const RUNS = 3;
const MB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The capture parameters the extension sends with the settings at their package.json defaults. */
function defaultParams(): CaptureRequest.Params {
  const props = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).contributes.configuration;
  const all = Object.assign({}, ...(Array.isArray(props) ? props : [props]).map((c: { properties: object }) => c.properties));
  const mb = (key: string) => (all[`attentionInspector.${key}`] ? Math.max(16, all[`attentionInspector.${key}`].default) * MB : undefined);
  const p: Record<string, unknown> = { modelId: 'bench', memoryBudgetBytes: mb('memoryBudgetMB') };
  // VIEWS_SEND_MB=n measures another send budget than the default (what a user may set).
  const send = process.env.VIEWS_SEND_MB ? Number(process.env.VIEWS_SEND_MB) * MB : mb('sendBudgetMB');
  if (send !== undefined) p.sendBudgetBytes = send;
  return p as unknown as CaptureRequest.Params;
}

/** What the runtime notifies for one layer, as captureHandler builds it. */
function notification(params: CaptureRequest.Params, map: LayerMap): LayerNotification.Params {
  return layerNotification('bench', map, params, LAYERS);
}

function relayed(n: LayerNotification.Params): HostToWebview {
  // extension/captureRelay.ts: meanData is not passed on.
  return { type: 'layer', captureId: n.captureId, layer: n.layer, heads: n.heads, queries: n.queries, keys: n.keys, pool: n.pool, data: n.data };
}

function started(tokens: number, layers: number, heads: number): HostToWebview {
  return {
    type: 'captureStarted',
    captureId: 'bench',
    modelName: 'gpt2-small-shaped',
    tokens: Array.from({ length: tokens }, (_, i) => ({ text: ` t${i}`, id: i })),
    layers: Array.from({ length: layers }, (_, i) => ({ index: i, kind: 'self' as const, heads })),
  };
}

/** exp(score) for the 256 scores in [0, 3) a random byte picks: Math.exp per cell took minutes. */
const EXP = Float64Array.from({ length: 256 }, (_, i) => Math.exp((3 * i) / 256));

/** Causal softmax of seeded random scores, [n, n]: one head at a time keeps memory low. */
function randomHead(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n * n);
  for (let q = 0; q < n; q++) {
    let sum = 0;
    const row = q * n;
    for (let k = 0; k <= q; k++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      sum += out[row + k] = EXP[s >>> 24];
    }
    for (let k = 0; k <= q; k++) out[row + k] /= sum;
  }
  return out;
}

/**
 * One layer's notification at n tokens without holding the [12, n, n] map: each head is pooled
 * alone by the server's poolMaps (pooling is per head) and the heads joined, as layerParams does.
 */
function syntheticLayer(params: CaptureRequest.Params, layer: number, n: number): LayerNotification.Params {
  const pool = poolFor(params, HEADS, n, n, LAYERS);
  if (pool <= 1) {
    const data = new Float32Array(HEADS * n * n);
    for (let h = 0; h < HEADS; h++) data.set(randomHead(n, 1 + layer * HEADS + h), h * n * n);
    return notification(params, { index: layer, kind: 'self', heads: HEADS, queries: n, keys: n, data });
  }
  const rows = Math.ceil(n / pool);
  const max = new Float32Array(HEADS * rows * rows);
  const mean = new Float32Array(HEADS * rows * rows);
  for (let h = 0; h < HEADS; h++) {
    const p = poolMaps(randomHead(n, 1 + layer * HEADS + h), 1, n, n, pool);
    max.set(p.max, h * rows * rows);
    mean.set(p.mean, h * rows * rows);
  }
  const full = layerParams('bench', { index: layer, kind: 'self', heads: HEADS, queries: rows, keys: rows, data: max }, 1);
  const out: LayerNotification.Params = { ...full, queries: n, keys: n, pool, data: full.data };
  if (params.means === true) out.meanData = encodeFloat32(mean);
  return out;
}

/**
 * Page-side: posts the staged messages and resolves with ms to the frame after the last. A
 * string, not a function: tsx would add helpers (__name) the page does not have.
 */
const TIME_POSTING = `new Promise((resolve) => {
  const marker = 'bench-done-' + Math.random();
  const t0 = performance.now();
  addEventListener('message', function done(e) {
    if (e.data !== marker) return;
    removeEventListener('message', done);
    requestAnimationFrame(() => resolve(performance.now() - t0));
  });
  for (const m of window.__bench) postMessage(m, '*');
  postMessage(marker, '*');
})`;

const timePosting = (page: Page): Promise<number> => page.evaluate(TIME_POSTING) as Promise<number>;

/**
 * As TIME_POSTING, but to the frame after the head heatmap has its data: the panel draws the
 * heatmap in a task after the grid's frame, so the frame after the last message is too early.
 */
const TIME_TO_HEATMAP = `new Promise((resolve) => {
  const marker = 'bench-done-' + Math.random();
  const t0 = performance.now();
  const drawn = () => ((document.querySelector('.head-heatmap') || {}).data || []).length === 1;
  const wait = () => (drawn() ? requestAnimationFrame(() => resolve(performance.now() - t0)) : setTimeout(wait, 1));
  addEventListener('message', function done(e) {
    if (e.data !== marker) return;
    removeEventListener('message', done);
    wait();
  });
  for (const m of window.__bench) postMessage(m, '*');
  postMessage(marker, '*');
})`;

async function stage(page: Page, msgs: HostToWebview[]): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __bench: unknown[] }).__bench = []));
  for (const m of msgs) await page.evaluate((x) => (window as unknown as { __bench: unknown[] }).__bench.push(x), m);
}

const heatmapData = (page: Page) =>
  page.evaluate(() => {
    const gd = document.querySelector('.head-heatmap') as { data?: { z?: unknown[] }[] } | null;
    return gd?.data?.[0]?.z?.length ?? 0;
  });

interface Row {
  name: string;
  ms: number[];
  bytes?: number;
  aimMs?: number;
  note?: string;
}

async function gridCase(name: string, layers: LayerNotification.Params[], n: number): Promise<Row> {
  const browser = await launchChromium();
  const ms: number[] = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      const p = await openPanelPage(browser);
      await p.post([{ type: 'init', state: {}, theme: 'dark' }, started(n, LAYERS, HEADS)]);
      await stage(p.page, layers.map(relayed));
      ms.push(await timePosting(p.page));
      const status = await p.page.textContent('.panel-status');
      if (p.problems.length || !/layer 12 of 12/.test(status ?? '')) throw new Error(`${name}: ${p.problems.join('; ')} status "${status}"`);
      await p.close();
    }
  } finally {
    await browser.close();
  }
  const bytes = layers.reduce((s, l) => s + l.data.length + (l.meanData?.length ?? 0), 0);
  return { name, ms, bytes, aimMs: 500, note: `pool ${layers[0].pool}` };
}

/** One 2,048 x 2,048 head at full resolution (a 1-layer, 1-head capture: pool 1) drawn. */
async function headCases(params: CaptureRequest.Params): Promise<Row[]> {
  const n = 2048;
  const head = randomHead(n, 7);
  const full = relayed(layerParams('bench', { index: 0, kind: 'self', heads: 1, queries: n, keys: n, data: head }, 1));
  const browser = await launchChromium();
  const fullMs: number[] = [];
  const tileMs: number[] = [];
  let pool: number;
  try {
    for (let r = 0; r < RUNS; r++) {
      const p = await openPanelPage(browser);
      await p.post([{ type: 'init', state: {}, theme: 'dark' }, started(n, 1, 1)]);
      await stage(p.page, [full]);
      fullMs.push((await p.page.evaluate(TIME_TO_HEATMAP)) as number);
      await p.close();
    }
    // The same head pooled as the defaults pool a 12-head layer at 2,048 tokens; zooming to
    // 128 x 128 tokens asks for a full-resolution tile, answered here as the host would.
    pool = poolFor(params, HEADS, n, n, LAYERS);
    const pooled = poolMaps(head, 1, n, n, pool);
    const msg: HostToWebview = { ...full, pool, data: encodeFloat32(pooled.max) } as HostToWebview;
    for (let r = 0; r < RUNS && pool > 1; r++) {
      const p = await openPanelPage(browser);
      await p.post([{ type: 'init', state: {}, theme: 'dark' }, started(n, 1, 1), msg]);
      await p.page.waitForFunction(() => ((document.querySelector('.head-heatmap') as { data?: unknown[] }).data?.length ?? 0) === 1);
      const before = await heatmapData(p.page);
      const t0 = Date.now();
      await dragZoom(p.page, [1000, 1000], [1128, 1128]);
      await p.page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((x) => x.type === 'requestTile'));
      const req = (await p.posted()).find((x) => x.type === 'requestTile') as Extract<import('../protocol/webview').WebviewToHost, { type: 'requestTile' }>;
      const rows = req.q1 - req.q0;
      const cols = req.k1 - req.k0;
      const tile = new Float32Array(rows * cols);
      for (let q = 0; q < rows; q++) tile.set(head.subarray((req.q0 + q) * n + req.k0, (req.q0 + q) * n + req.k1), q * cols);
      await p.post([{ type: 'tile', requestId: req.requestId, rows, cols, data: encodeFloat32(tile) }]);
      await p.page.waitForFunction((b) => {
        const gd = document.querySelector('.head-heatmap') as { data?: { z?: unknown[] }[] };
        return (gd.data?.[0]?.z?.length ?? 0) !== b;
      }, before);
      await p.page.evaluate(() => new Promise((res) => requestAnimationFrame(res)));
      tileMs.push(Date.now() - t0);
      await p.close();
    }
  } finally {
    await browser.close();
  }
  const rows: Row[] = [{ name: 'head 2048x2048 full res, drawn', ms: fullMs, bytes: full.type === 'layer' ? full.data.length : 0, aimMs: 1000, note: 'pool 1, heatmap 160x160' }];
  if (pool > 1) rows.push({ name: 'head 2048 pooled, zoom -> 128x128 tile', ms: tileMs, aimMs: 1000, note: `grid pool ${pool}; incl. mouse drag` });
  return rows;
}

async function main(): Promise<void> {
  const params = defaultParams();
  console.log(`defaults: memoryBudgetBytes ${params.memoryBudgetBytes! / MB} MB` + ((params as { sendBudgetBytes?: number }).sendBudgetBytes ? `, sendBudgetBytes ${(params as { sendBudgetBytes?: number }).sendBudgetBytes! / MB} MB` : ''));
  const rows: Row[] = [];

  // 512 tokens: the real engine on the GPT-2-small-shaped model.
  const file = await makeGpt2SmallShaped(join(tmpdir(), 'attention-inspector-bench'));
  const model = await openModel(file, { executionProvider: 'cpu' });
  const maps: LayerMap[] = [];
  await model.capture({ ids: Array.from({ length: 512 }, (_, i) => (i * 7919) % 512) }, { memoryBudgetBytes: params.memoryBudgetBytes, onLayer: (m) => void maps.push(m) });
  await model.dispose();
  rows.push(await gridCase('grid 12x12 @ 512 (real capture)', maps.map((m) => notification(params, m)), 512));
  maps.length = 0;

  const t = performance.now();
  const layers4k: LayerNotification.Params[] = [];
  for (let l = 0; l < LAYERS; l++) layers4k.push(syntheticLayer(params, l, 4096));
  console.log(`4096-token maps generated and pooled in ${Math.round(performance.now() - t)} ms`);
  rows.push({ ...(await gridCase('grid 12x12 @ 4096 (random causal maps)', layers4k, 4096)), aimMs: 500 });
  const bytes4k = rows.at(-1)!.bytes!;
  layers4k.length = 0;

  rows.push(...(await headCases(params)));

  console.log('\ncase                                        median ms (3 runs)       ms/aim   bytes sent   note');
  for (const r of rows) {
    const m = median(r.ms);
    const ratio = r.aimMs ? (m / r.aimMs).toFixed(2) : '';
    const runs = r.ms.map((x) => Math.round(x)).join('/');
    console.log(`${r.name.padEnd(43)} ${String(Math.round(m)).padStart(6)} (${runs})`.padEnd(68) + `${ratio.padStart(6)}   ${r.bytes !== undefined ? (r.bytes / 1e6).toFixed(1).padStart(7) + ' MB' : '          '}   ${r.note ?? ''}`);
  }
  console.log(`\nbytes for one 4,096-token 12x12 inspection: ${(bytes4k / 1e6).toFixed(1)} MB (aim 50 MB: ratio ${(bytes4k / 50e6).toFixed(2)})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
