/**
 * The one colour scale of the panel, shared by the thumbnail canvas and the Plotly heatmap so a
 * weight reads the same everywhere. Viridis by default (perceptually uniform, readable on light
 * and dark themes, colour-blind safe) applied to sqrt(weight): attention rows sum to 1, so past
 * a few dozen tokens most weights are small and a linear scale would paint nearly everything
 * the same dark purple. The user may pick cividis (built for red-green colour blindness: blue
 * to yellow only) or greys (white to black, for printing); the pick is the module's active
 * scale so every view (canvas, Plotly, token strip) follows it without threading it through.
 */
export type RGB = [number, number, number];

export type ScaleName = 'viridis' | 'cividis' | 'greys';
export const SCALE_NAMES: readonly ScaleName[] = ['viridis', 'cividis', 'greys'];

/** Cividis (matplotlib's _cividis_data, every 16th of its 256 entries: position, r, g, b). */
const CIVIDIS: [number, number, number, number][] = [
  [0.0, 0x00, 0x22, 0x4e],
  [0.0627, 0x00, 0x2e, 0x6a],
  [0.1255, 0x1a, 0x38, 0x6f],
  [0.1882, 0x32, 0x43, 0x6d],
  [0.251, 0x43, 0x4e, 0x6c],
  [0.3137, 0x53, 0x5a, 0x6d],
  [0.3765, 0x61, 0x65, 0x6f],
  [0.4392, 0x6f, 0x70, 0x73],
  [0.502, 0x7d, 0x7c, 0x78],
  [0.5647, 0x8c, 0x88, 0x78],
  [0.6275, 0x9b, 0x94, 0x76],
  [0.6902, 0xab, 0xa0, 0x72],
  [0.7529, 0xbc, 0xae, 0x6c],
  [0.8157, 0xcd, 0xbb, 0x64],
  [0.8784, 0xde, 0xc9, 0x58],
  [0.9412, 0xf0, 0xd8, 0x46],
  [1.0, 0xfe, 0xe8, 0x38],
];

let active: ScaleName = 'viridis';

/** Makes `name` the scale of every later colorScale / plotlyColorscale call. */
export function setActiveScale(name: ScaleName): void {
  active = SCALE_NAMES.includes(name) ? name : 'viridis';
}

export function activeScale(): ScaleName {
  return active;
}

/** Viridis sampled at 11 evenly spaced points (matplotlib's published values). */
const VIRIDIS: RGB[] = [
  [0x44, 0x01, 0x54],
  [0x48, 0x24, 0x75],
  [0x41, 0x44, 0x87],
  [0x35, 0x5f, 0x8d],
  [0x2a, 0x78, 0x8e],
  [0x21, 0x91, 0x8c],
  [0x22, 0xa8, 0x84],
  [0x44, 0xbf, 0x70],
  [0x7a, 0xd1, 0x51],
  [0xbd, 0xdf, 0x26],
  [0xfd, 0xe7, 0x25],
];

/** Position on the scale, in [0, 1], of a weight (NaN and out-of-range weights are clamped). */
export function scalePosition(weight: number): number {
  const w = Number.isFinite(weight) ? Math.min(1, Math.max(0, weight)) : 0;
  return Math.sqrt(w);
}

/** Viridis at position t in [0, 1], integer channels. */
export function viridis(t: number): RGB {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** Cividis at position t in [0, 1], integer channels. */
export function cividis(t: number): RGB {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  let i = 0;
  while (i < CIVIDIS.length - 2 && CIVIDIS[i + 1][0] < x) i++;
  const a = CIVIDIS[i];
  const b = CIVIDIS[i + 1];
  const f = (x - a[0]) / (b[0] - a[0]);
  return [1, 2, 3].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as RGB;
}

/** Greys: white (no attention) to black (all of it), like matplotlib's 'Greys'; prints well. */
export function greys(t: number): RGB {
  const v = Math.round(255 * (1 - Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0))));
  return [v, v, v];
}

/** The named scale at position t in [0, 1]. */
export function scaleAt(name: ScaleName, t: number): RGB {
  return name === 'cividis' ? cividis(t) : name === 'greys' ? greys(t) : viridis(t);
}

/** The colour of an attention weight in [0, 1], in the active scale (or the one named). */
export function colorScale(weight: number, name: ScaleName = active): RGB {
  return scaleAt(name, scalePosition(weight));
}

/**
 * Writes colorScale(weight) as opaque RGBA at px[o..o+3]: the same arithmetic as viridis() with
 * no array per pixel (the grid paints ~10^6 pixels per capture); other scales go through
 * colorScale.
 */
export function writeColor(px: Uint8ClampedArray, o: number, weight: number, name: ScaleName = active): void {
  if (name !== 'viridis') {
    const [r, g, b] = colorScale(weight, name);
    px[o] = r;
    px[o + 1] = g;
    px[o + 2] = b;
    px[o + 3] = 255;
    return;
  }
  const t = scalePosition(weight);
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  px[o] = Math.round(a[0] + (b[0] - a[0]) * f);
  px[o + 1] = Math.round(a[1] + (b[1] - a[1]) * f);
  px[o + 2] = Math.round(a[2] + (b[2] - a[2]) * f);
  px[o + 3] = 255;
}

export function rgbCss([r, g, b]: RGB): string {
  return `rgb(${r},${g},${b})`;
}

/**
 * The same scale as a Plotly colorscale over raw weights (zmin 0, zmax 1). Plotly interpolates
 * linearly between stops, so stops are placed at weights (i/n)^2 where the sqrt mapping is
 * exact; between stops the error is under one colour step.
 */
export function plotlyColorscale(stops = 32, name: ScaleName = active): [number, string][] {
  const out: [number, string][] = [];
  for (let i = 0; i <= stops; i++) {
    const t = i / stops;
    out.push([t * t, rgbCss(scaleAt(name, t))]);
  }
  return out;
}
