/**
 * The selected head's map of every variant side by side, one canvas each, painted with the
 * Attention panel's colour scale (webview/colorScale.ts) so a weight reads the same in both
 * panels. One canvas pixel per map cell, scaled up by CSS without smoothing, so what is on the
 * canvas is exactly colorScale(weight).
 */
import type { CompareMap, CompareVariantRow } from '../../protocol/mechanisms';
import { decodeFloat32 } from '../../protocol/encoding';
import { colorScale } from '../colorScale';

const DISPLAY_PX = 200;

export function paintMap(canvas: HTMLCanvasElement, map: CompareMap): void {
  const data = decodeFloat32(map.data);
  canvas.width = map.cols;
  canvas.height = map.rows;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(map.cols, map.rows);
  for (let i = 0; i < data.length; i++) {
    const [r, g, b] = colorScale(data[i]);
    img.data.set([r, g, b, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  const scale = DISPLAY_PX / Math.max(map.rows, map.cols);
  canvas.style.width = `${Math.round(map.cols * scale)}px`;
  canvas.style.height = `${Math.round(map.rows * scale)}px`;
}

export function drawMaps(parent: HTMLElement, maps: CompareMap[], rows: CompareVariantRow[], tokens: string[]): void {
  parent.replaceChildren();
  for (const row of rows) {
    const card = document.createElement('figure');
    card.className = 'cmp-map';
    card.dataset.variant = row.id;
    const map = maps.find((m) => m.id === row.id);
    const caption = document.createElement('figcaption');
    const name = document.createElement('strong');
    name.textContent = row.id;
    caption.appendChild(name);
    if (map) {
      const canvas = document.createElement('canvas');
      canvas.title = `${row.id}: queries down, keys across${map.pool > 1 ? ` (block maxima of ${map.pool} x ${map.pool})` : ''}`;
      paintMap(canvas, map);
      // Hover shows the query and key under the pointer and the weight there.
      const data = decodeFloat32(map.data);
      canvas.addEventListener('mousemove', (e) => {
        const r = Math.floor((e.offsetY / canvas.clientHeight) * map.rows);
        const c = Math.floor((e.offsetX / canvas.clientWidth) * map.cols);
        const q = map.pool > 1 ? `queries ${r * map.pool}…` : `“${tokens[r] ?? r}”`;
        const k = map.pool > 1 ? `keys ${c * map.pool}…` : `“${tokens[c] ?? c}”`;
        canvas.title = `${row.id}: ${q} → ${k}: ${data[r * map.cols + c]?.toPrecision(3)}`;
      });
      card.appendChild(canvas);
    } else {
      const none = document.createElement('div');
      none.className = 'cmp-nomap';
      none.textContent = row.error ? `failed: ${row.error}` : 'no [queries x keys] map';
      card.appendChild(none);
    }
    const meaning = document.createElement('span');
    meaning.className = 'cmp-meaning';
    meaning.textContent = row.mapMeaning ?? (map ? 'softmax probabilities' : '');
    caption.appendChild(meaning);
    card.appendChild(caption);
    parent.appendChild(card);
  }
}
