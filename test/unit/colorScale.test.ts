/**
 * The panel's colour scale against matplotlib's published viridis values, and the Plotly
 * colorscale against the canvas scale it must match.
 */
import assert from 'node:assert/strict';
import { colorScale, plotlyColorscale, viridis } from '../../webview/colorScale';

const hex = (h: string): number[] => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));

describe('colour scale', () => {
  it('is viridis of sqrt(weight): published end points and quartiles', () => {
    assert.deepEqual(colorScale(0), hex('#440154'));
    assert.deepEqual(colorScale(1), hex('#fde725'));
    assert.deepEqual(colorScale(0.25), hex('#21918c')); // viridis(0.5)
    assert.deepEqual(viridis(0.3), hex('#355f8d'));
    // Out of range and NaN weights clamp instead of throwing or wrapping.
    assert.deepEqual(colorScale(-1), colorScale(0));
    assert.deepEqual(colorScale(2), colorScale(1));
    assert.deepEqual(colorScale(NaN), colorScale(0));
  });

  it('Plotly interpolating between its stops stays within 3 levels of the canvas colour', () => {
    const stops = plotlyColorscale();
    assert.equal(stops[0][0], 0);
    assert.equal(stops.at(-1)![0], 1);
    const parse = (css: string) => css.match(/\d+/g)!.map(Number);
    let worst = 0;
    for (let w = 0; w <= 1; w += 0.001) {
      const i = stops.findIndex(([p]) => p >= w);
      const [p1, c1] = stops[Math.max(1, i)];
      const [p0, c0] = stops[Math.max(1, i) - 1];
      const f = p1 === p0 ? 0 : (w - p0) / (p1 - p0);
      const a = parse(c0);
      const b = parse(c1);
      const plotly = a.map((x, j) => x + (b[j] - x) * f);
      const canvas = colorScale(w);
      worst = Math.max(worst, ...plotly.map((x, j) => Math.abs(x - canvas[j])));
    }
    assert.ok(worst <= 3, `largest channel difference ${worst.toFixed(2)}`);
  });
});
