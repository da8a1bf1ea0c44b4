/**
 * Reads what the panel drew: thumbnail pixels, where a map cell sits in its thumbnail, and
 * Plotly's hover label for a heatmap cell (by moving the real mouse over it).
 */
import type { Page } from 'playwright-core';
import type { GridGeometry } from '../../webview/thumbnailGrid';

async function geometry(page: Page): Promise<GridGeometry> {
  return JSON.parse((await page.getAttribute('canvas.thumbnail-grid', 'data-geometry'))!);
}

export async function pixelAt(page: Page, x: number, y: number): Promise<[number, number, number]> {
  return page.evaluate(([px, py]) => {
    const c = document.querySelector('canvas.thumbnail-grid') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(px, py, 1, 1).data;
    return [d[0], d[1], d[2]] as [number, number, number];
  }, [x, y]);
}

/**
 * Canvas pixel at the middle of map cell (q, k) of a head's thumbnail, when each token gets a
 * whole square of pixels (exact = false when the map was downsampled).
 */
export async function thumbCellCenter(
  page: Page,
  layer: number,
  head: number,
  q: number,
  k: number,
  queries: number,
  keys: number,
): Promise<{ x: number; y: number; exact: boolean }> {
  const g = await geometry(page);
  const n = Math.max(queries, keys);
  const px = Math.floor(g.cell / n);
  const ox = g.left + head * (g.cell + g.gap);
  const oy = g.top + layer * (g.cell + g.gap);
  return { x: ox + k * px + Math.floor(px / 2), y: oy + q * px + Math.floor(px / 2), exact: n <= g.cell };
}

/** The weight a downsampled thumbnail pixel (i, j) must show: the max over its block. */
export function expectedThumbWeight(map: Float32Array, rows: number, cols: number, cell: number, i: number, j: number): number {
  const n = Math.max(rows, cols);
  const outR = Math.max(1, Math.round((rows * cell) / n));
  const outC = Math.max(1, Math.round((cols * cell) / n));
  const r0 = Math.floor((i * rows) / outR);
  const r1 = Math.max(r0 + 1, Math.floor(((i + 1) * rows) / outR));
  const c0 = Math.floor((j * cols) / outC);
  const c1 = Math.max(c0 + 1, Math.floor(((j + 1) * cols) / outC));
  let m = 0;
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) m = Math.max(m, map[r * cols + c]);
  return m;
}

export async function clickThumb(page: Page, layer: number, head: number): Promise<void> {
  const g = await geometry(page);
  const box = (await page.locator('canvas.thumbnail-grid').boundingBox())!;
  const x = box.x + (g.left + head * (g.cell + g.gap) + g.cell / 2) / g.dpr;
  const y = box.y + (g.top + layer * (g.cell + g.gap) + g.cell / 2) / g.dpr;
  await page.mouse.click(x, y);
}

/** Page coordinates of heatmap cell (query q, key k), in token units. */
async function heatmapPoint(page: Page, q: number, k: number): Promise<[number, number]> {
  return page.evaluate(
    ([qq, kk]) => {
      type Axis = { _offset: number; l2p(v: number): number };
      const gd = document.querySelector('.head-heatmap') as HTMLElement & { _fullLayout: { xaxis: Axis; yaxis: Axis } };
      const r = gd.getBoundingClientRect();
      const fl = gd._fullLayout;
      return [r.left + fl.xaxis._offset + fl.xaxis.l2p(kk), r.top + fl.yaxis._offset + fl.yaxis.l2p(qq)];
    },
    [q, k],
  );
}

/** Moves the mouse over heatmap cell (query q, key k) and returns Plotly's hover label text. */
export async function heatmapHover(page: Page, q: number, k: number): Promise<string> {
  await page.mouse.move(0, 0);
  const [x, y] = await heatmapPoint(page, q, k);
  await page.mouse.move(x, y);
  const label = page.locator('.head-heatmap .hoverlayer .hovertext');
  await label.waitFor();
  const lines = await label.locator('tspan.line').allTextContents();
  return lines.length ? lines.join('\n') : ((await label.textContent()) ?? '');
}

/** Drags a zoom box on the heatmap from cell [q, k] to cell [q, k]. */
export async function dragZoom(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const [x0, y0] = await heatmapPoint(page, from[0], from[1]);
  const [x1, y1] = await heatmapPoint(page, to[0], to[1]);
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 4 });
  await page.mouse.move(x1, y1, { steps: 4 });
  await page.mouse.up();
}
