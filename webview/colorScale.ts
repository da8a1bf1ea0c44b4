/**
 * The one colour scale of the panel, shared by the thumbnail canvas and the Plotly heatmap so a
 * weight reads the same everywhere. Viridis (perceptually uniform, readable on light and dark
 * themes, colour-blind safe) applied to sqrt(weight): attention rows sum to 1, so past a few
 * dozen tokens most weights are small and a linear scale would paint nearly everything the
 * same dark purple.
 */
export type RGB = [number, number, number];

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

/** The colour of an attention weight in [0, 1]. */
export function colorScale(weight: number): RGB {
  return viridis(scalePosition(weight));
}

export function rgbCss([r, g, b]: RGB): string {
  return `rgb(${r},${g},${b})`;
}

/**
 * The same scale as a Plotly colorscale over raw weights (zmin 0, zmax 1). Plotly interpolates
 * linearly between stops, so stops are placed at weights (i/n)^2 where the sqrt mapping is
 * exact; between stops the error is under one colour step.
 */
export function plotlyColorscale(stops = 32): [number, string][] {
  const out: [number, string][] = [];
  for (let i = 0; i <= stops; i++) {
    const t = i / stops;
    out.push([t * t, rgbCss(viridis(t))]);
  }
  return out;
}
