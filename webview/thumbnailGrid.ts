/**
 * Every layer x head as a thumbnail on ONE canvas (thousands of DOM nodes or Plotly plots would
 * not stay responsive for 32 x 32 heads). Rows are layers, columns heads; layers fill in as they
 * stream. Cells are written with putImageData so each pixel is exactly colorScale(weight): no
 * smoothing, which the headless tests rely on. Maps longer than the thumbnail are reduced by
 * block max. Colour mode 'shared' puts every head on [0, largest weight of the capture], so heads
 * compare; 'perHead' divides each head by its own largest weight, so the pattern of a diffuse
 * head (all weights small) still shows.
 */
import { writeColor } from './colorScale';
import { LayerMaps, blockMax, headView } from './layerMaps';

export interface GridGeometry {
  /** All in canvas (device) pixels. */
  left: number;
  top: number;
  cell: number;
  gap: number;
  dpr: number;
}

/** Where map cell (row, col) of a layer is drawn inside its thumbnail, and how big it is. */
export function thumbLayout(rows: number, cols: number, cell: number): { pxPerCell: number; outRows: number; outCols: number } {
  const n = Math.max(rows, cols);
  if (n <= cell) {
    const k = Math.floor(cell / n);
    return { pxPerCell: k, outRows: rows * k, outCols: cols * k };
  }
  return { pxPerCell: cell / n, outRows: Math.max(1, Math.round((rows * cell) / n)), outCols: Math.max(1, Math.round((cols * cell) / n)) };
}

export type ColorMode = 'shared' | 'perHead';

/** Largest value of a map (0 for an empty or all-NaN one). */
function mapMax(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

export class ThumbnailGrid {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private layerHeads: number[] = [];
  /** Cells a side of the maps (tokens, or pooled blocks): thumbnails are a whole multiple of it. */
  private side = 1;
  private maps = new Map<number, LayerMaps>();
  private selected: { layer: number; head: number } | undefined;
  private geom: GridGeometry = { left: 0, top: 0, cell: 48, gap: 6, dpr: 1 };
  private mode: ColorMode = 'shared';
  /** Largest weight of the layers received so far ('shared' scales to it). */
  private globalMax = 0;
  /** Thumbnail side chosen by the user (CSS px); undefined: fit the panel's width. */
  private fixedCell: number | undefined;

  constructor(
    private readonly host: HTMLElement,
    private readonly onSelect: (layer: number, head: number) => void,
    private readonly onHover: (text: string) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'thumbnail-grid';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('aria-label', 'Attention heads: arrow keys select a head');
    host.appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hitTest(e.offsetX, e.offsetY);
      if (hit) this.onSelect(hit.layer, hit.head);
    });
    this.canvas.addEventListener('mousemove', (e) => {
      const hit = this.hitTest(e.offsetX, e.offsetY);
      this.canvas.style.cursor = hit ? 'pointer' : 'default';
      this.onHover(hit ? `layer ${hit.layer} · head ${hit.head}` : '');
    });
    // Leaving the grid gives the caption back to the selected head.
    this.canvas.addEventListener('mouseleave', () => this.onHover(''));
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** Lays out an empty grid for a new capture. `layerHeads[i]` is the head count of layer i. */
  reset(layerHeads: number[], side: number): void {
    this.layerHeads = layerHeads;
    this.side = Math.max(1, side);
    this.maps.clear();
    this.globalMax = 0;
    this.layout();
  }

  /** Thumbnail side in CSS px (undefined: fit the width); a larger grid scrolls in its box. */
  setCellSize(px: number | undefined): void {
    this.fixedCell = px && px > 0 ? Math.min(256, Math.max(12, Math.floor(px))) : undefined;
    this.layout();
  }

  setColorMode(mode: ColorMode): void {
    this.mode = mode;
    this.layout();
  }

  colorMode(): ColorMode {
    return this.mode;
  }

  /** The top of the shared scale: the capture's largest weight so far (1 before any layer). */
  sharedMax(): number {
    return this.globalMax > 0 ? this.globalMax : 1;
  }

  addLayer(m: LayerMaps): void {
    this.maps.set(m.layer, m);
    const max = mapMax(m.data);
    if (max > this.globalMax && this.mode === 'shared' && this.maps.size > 1) {
      // Earlier thumbnails were scaled to a smaller maximum: paint them again.
      this.globalMax = max;
      this.layout();
      return;
    }
    this.globalMax = Math.max(this.globalMax, max);
    const side = Math.max(m.rows, m.cols);
    if (side !== this.side) {
      // Pooled maps have fewer cells than tokens: fit the thumbnails to them.
      this.side = side;
      this.layout();
      return;
    }
    this.drawLayer(m.layer);
    this.drawSelection();
  }

  select(layer: number, head: number): void {
    this.clearSelection();
    this.selected = { layer, head };
    this.canvas.setAttribute('aria-label', `Attention heads, layer ${layer} head ${head} selected: arrow keys select a head`);
    this.drawSelection();
  }

  /** Map cells per thumbnail pixel (above 1 the thumbnails show block maxima). */
  cellsPerPixel(): number {
    return this.side / this.geom.cell;
  }

  geometry(): GridGeometry {
    return { ...this.geom };
  }

  /** Re-fits the thumbnails to the panel width (after a resize). */
  layout(): void {
    const dpr = window.devicePixelRatio || 1;
    const maxHeads = Math.max(1, ...this.layerHeads);
    const width = Math.max(200, this.host.clientWidth || 600);
    const labelW = 34;
    const fit = Math.max(12, Math.min(160, Math.floor((width - labelW) / maxHeads) - 6));
    const room = this.fixedCell ?? fit;
    // A whole number of pixels per cell when the map fits, so short texts fill the thumbnail.
    const cssCell = this.side <= room * dpr ? Math.max(1, Math.floor((room * dpr) / this.side)) * this.side / dpr : room;
    const gap = Math.round(6 * dpr);
    this.geom = { left: Math.round(labelW * dpr), top: Math.round(18 * dpr), cell: Math.round(cssCell * dpr), gap, dpr };
    const g = this.geom;
    this.canvas.width = g.left + maxHeads * (g.cell + g.gap);
    this.canvas.height = g.top + this.layerHeads.length * (g.cell + g.gap);
    this.canvas.style.width = `${this.canvas.width / dpr}px`;
    this.canvas.style.height = `${this.canvas.height / dpr}px`;
    this.canvas.dataset.geometry = JSON.stringify(g);
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.drawLabels(maxHeads);
    for (let l = 0; l < this.layerHeads.length; l++) this.drawLayer(l);
    this.drawBorders();
    this.drawSelection();
  }

  /** High-contrast themes outline every thumbnail with --vscode-contrastBorder, in the gap. */
  private drawBorders(): void {
    const cls = document.body.classList;
    if (!cls.contains('vscode-high-contrast') && !cls.contains('vscode-high-contrast-light')) return;
    const color = getComputedStyle(document.body).getPropertyValue('--vscode-contrastBorder').trim() || '#6fc3df';
    const g = this.geom;
    this.ctx.strokeStyle = color;
    this.ctx.lineWidth = 1;
    for (let l = 0; l < this.layerHeads.length; l++) {
      for (let h = 0; h < (this.layerHeads[l] ?? 0); h++) {
        const [x, y] = this.cellOrigin(l, h);
        this.ctx.strokeRect(x - 1.5, y - 1.5, g.cell + 3, g.cell + 3);
      }
    }
  }

  private cellOrigin(layer: number, head: number): [number, number] {
    const g = this.geom;
    return [g.left + head * (g.cell + g.gap), g.top + layer * (g.cell + g.gap)];
  }

  private drawLabels(maxHeads: number): void {
    const g = this.geom;
    const style = getComputedStyle(this.host);
    this.ctx.fillStyle = style.color || '#888';
    this.ctx.font = `${Math.round(10 * g.dpr)}px ${style.fontFamily || 'sans-serif'}`;
    this.ctx.textBaseline = 'middle';
    const every = Math.ceil(maxHeads / Math.max(1, Math.floor((maxHeads * (g.cell + g.gap)) / (24 * g.dpr))));
    this.ctx.textAlign = 'center';
    for (let h = 0; h < maxHeads; h += every) {
      this.ctx.fillText(`H${h}`, g.left + h * (g.cell + g.gap) + g.cell / 2, g.top / 2);
    }
    this.ctx.textAlign = 'right';
    for (let l = 0; l < this.layerHeads.length; l++) {
      this.ctx.fillText(`L${l}`, g.left - g.gap, g.top + l * (g.cell + g.gap) + g.cell / 2);
    }
  }

  private drawLayer(layer: number): void {
    const heads = this.layerHeads[layer] ?? 0;
    const m = this.maps.get(layer);
    const g = this.geom;
    for (let h = 0; h < heads; h++) {
      const [x, y] = this.cellOrigin(layer, h);
      if (!m) {
        // Placeholder until the layer streams in: a faint square, so the grid's shape shows.
        this.ctx.fillStyle = 'rgba(128,128,128,0.15)';
        this.ctx.fillRect(x, y, g.cell, g.cell);
        continue;
      }
      this.ctx.clearRect(x, y, g.cell, g.cell);
      const { outRows, outCols } = thumbLayout(m.rows, m.cols, g.cell);
      const src = headView(m, h);
      const top = this.mode === 'perHead' ? mapMax(src) : this.sharedMax();
      const div = top > 0 ? top : 1;
      const values =
        outRows >= m.rows && outCols >= m.cols ? undefined : blockMax(src, m.rows, m.cols, 0, m.rows, 0, m.cols, outRows, outCols);
      const img = this.ctx.createImageData(outCols, outRows);
      const px = img.data;
      for (let i = 0; i < outRows; i++) {
        for (let j = 0; j < outCols; j++) {
          const w = values
            ? values[i * outCols + j]
            : src[Math.floor((i * m.rows) / outRows) * m.cols + Math.floor((j * m.cols) / outCols)];
          writeColor(px, (i * outCols + j) * 4, w / div);
        }
      }
      this.ctx.putImageData(img, x, y);
    }
  }

  private ring(layer: number, head: number, paint: boolean): void {
    const g = this.geom;
    const [x, y] = this.cellOrigin(layer, head);
    const t = Math.max(2, Math.round(2 * g.dpr));
    const o = Math.floor(g.gap / 2) + Math.floor(t / 2);
    const rects: [number, number, number, number][] = [
      [x - o, y - o, g.cell + 2 * o, t],
      [x - o, y + g.cell + o - t, g.cell + 2 * o, t],
      [x - o, y - o, t, g.cell + 2 * o],
      [x + g.cell + o - t, y - o, t, g.cell + 2 * o],
    ];
    if (paint) {
      const focus = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder').trim();
      this.ctx.fillStyle = focus || '#007fd4';
      for (const r of rects) this.ctx.fillRect(...r);
    } else {
      for (const r of rects) this.ctx.clearRect(...r);
    }
  }

  private clearSelection(): void {
    if (this.selected && this.selected.layer < this.layerHeads.length) this.ring(this.selected.layer, this.selected.head, false);
  }

  private drawSelection(): void {
    const s = this.selected;
    if (s && s.layer < this.layerHeads.length && s.head < (this.layerHeads[s.layer] ?? 0)) this.ring(s.layer, s.head, true);
  }

  private hitTest(cssX: number, cssY: number): { layer: number; head: number } | undefined {
    const g = this.geom;
    const x = cssX * g.dpr - g.left;
    const y = cssY * g.dpr - g.top;
    if (x < 0 || y < 0) return undefined;
    const head = Math.floor(x / (g.cell + g.gap));
    const layer = Math.floor(y / (g.cell + g.gap));
    if (x - head * (g.cell + g.gap) > g.cell || y - layer * (g.cell + g.gap) > g.cell) return undefined;
    if (layer >= this.layerHeads.length || head >= (this.layerHeads[layer] ?? 0)) return undefined;
    return { layer, head };
  }

  private onKey(e: KeyboardEvent): void {
    const s = this.selected ?? { layer: 0, head: 0 };
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    const mv = moves[e.key];
    if (!mv) return;
    e.preventDefault();
    const layer = Math.min(this.layerHeads.length - 1, Math.max(0, s.layer + mv[0]));
    const head = Math.min((this.layerHeads[layer] ?? 1) - 1, Math.max(0, s.head + mv[1]));
    this.onSelect(layer, head);
  }
}
