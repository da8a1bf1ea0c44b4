/**
 * The panel's colour scale against matplotlib's published viridis values, and the Plotly
 * colorscale against the canvas scale it must match.
 */
import assert from 'node:assert/strict';
import { SCALE_NAMES, colorScale, plotlyColorscale, viridis, writeColor } from '../../webview/colorScale';
import { decodeFloat32, encodeFloat32 } from '../../protocol/encoding';

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

  it("writeColor (the grid's allocation-free path) writes exactly colorScale's channels, opaque", () => {
    const px = new Uint8ClampedArray(8);
    for (const name of SCALE_NAMES) {
      for (const w of [NaN, -1, 0, 1e-7, 0.0123, 0.25, 0.3, 0.5, 0.999, 1, 2, ...Array.from({ length: 97 }, (_, i) => (i * 0.37) % 1)]) {
        writeColor(px, 4, w, name);
        assert.deepEqual([...px.subarray(4)], [...colorScale(w, name), 255], `${name} ${w}`);
      }
    }
  });
});

describe('float32 base64 in the browser (no Buffer)', () => {
  it('the table decoder (hosts without Uint8Array.fromBase64) returns what Node encoded, every padding length', () => {
    const B = globalThis.Buffer;
    const U = Uint8Array as unknown as { fromBase64?: unknown };
    const native = U.fromBase64;
    const cases = [0, 1, 2, 3, 5, 257].map((n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 10 ** (i % 7)));
    const encoded = cases.map(encodeFloat32);
    try {
      (globalThis as { Buffer?: unknown }).Buffer = undefined;
      delete U.fromBase64;
      cases.forEach((f, i) => assert.deepEqual(decodeFloat32(encoded[i]), f));
    } finally {
      globalThis.Buffer = B;
      if (native) U.fromBase64 = native;
    }
  });
});
