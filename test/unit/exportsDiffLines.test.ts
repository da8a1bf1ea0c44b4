/**
 * The pure parts of the panel's second set of views and of their host side: the CSV writer,
 * A − B over the common prefix, ranks, the line view's top-k, the CLI snippet's quoting (run
 * through a real /bin/sh), the export message validation and payloads, and the checkpoint
 * architecture check.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFloat32 } from '../../protocol/encoding';
import type { ModelInfo } from '../../protocol/runtime';
import { readNpy } from '../../server/capture/npy';
import { main } from '../../server/cli';
import { architectureMismatch, textLabel } from '../../extension/sideBySideCheck';
import { exportPayload } from '../../extension/exportPayload';
import { parseWebviewMessage } from '../../protocol/webview';
import { csvField, csvNumber, matrixCsv } from '../../webview/export/csv';
import { cliSnippet, shellQuote } from '../../common/snippet';
import { blockSignedMax, diffOverCommonPrefix } from '../../common/diffMaps';
import { topLines } from '../../webview/views/lineView';
import { rowRanks } from '../../webview/views/rank';
import { decodeNpy } from '../../common/npy';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('exports, difference maps, line view and compatibility: pure parts', () => {
  describe('CSV writer', () => {
    it('writes float32 values that read back exactly, in at most 9 significant digits', () => {
      const next = rng(3);
      for (let i = 0; i < 2000; i++) {
        const v = Math.fround(next() ** 4);
        const s = csvNumber(v);
        assert.equal(Math.fround(Number(s)), v, s);
        assert.ok(s.replace(/^0\.0*|\.|e.*$/g, '').length <= 9, s);
      }
      assert.equal(csvNumber(0.5), '0.5');
      assert.equal(csvNumber(Math.fround(0.1)), '0.100000001');
    });

    it('quotes labels with separators, quotes, line breaks or edge spaces', () => {
      assert.equal(csvField('cat'), 'cat');
      assert.equal(csvField('a,b'), '"a,b"');
      assert.equal(csvField('say "hi"'), '"say ""hi"""');
      assert.equal(csvField(' the'), '" the"');
      assert.equal(csvField('\n'), '"\n"');
    });

    it('lays out a header of keys and one row per query', () => {
      const csv = matrixCsv(2, 3, Float32Array.of(1, 0, 0, 0.25, 0.5, 0.25), ['[BOS]', ' the'], ['[BOS]', ' the', ',']);
      assert.equal(csv, 'query \\ key,[BOS]," the",","\r\n[BOS],1,0,0\r\n" the",0.25,0.5,0.25\r\n');
      assert.throws(() => matrixCsv(2, 2, new Float32Array(3), [], []), /3 values for 2 x 2/);
    });
  });

  describe('A − B over the common prefix', () => {
    it('crops both maps to min(rows) x min(cols) and subtracts cell by cell', () => {
      const a = { rows: 3, cols: 3, data: Float32Array.from([1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5]) };
      const b = { rows: 2, cols: 2, data: Float32Array.from([1, 0, 0.9, 0.1]) };
      const d = diffOverCommonPrefix(a, b);
      assert.equal(d.truncated, true);
      assert.deepEqual([d.diff.rows, d.diff.cols], [2, 2]);
      assert.deepEqual([...d.a.data], [1, 0, 0.5, 0.5]);
      assert.deepEqual([...d.diff.data].map((v) => +v.toFixed(6)), [0, 0, -0.4, 0.4]);
      assert.ok(Math.abs(d.maxAbs - 0.4) < 1e-6);
      assert.equal(diffOverCommonPrefix(a, a).truncated, false);
      assert.equal(diffOverCommonPrefix(a, a).maxAbs, 0);
    });

    it('downsamples a signed map keeping the largest magnitude with its sign', () => {
      const m = { rows: 2, cols: 4, data: Float32Array.from([0.1, -0.7, 0.2, 0.3, 0.6, 0, -0.1, 0.05]) };
      assert.deepEqual([...blockSignedMax(m, 1, 2)].map((v) => +v.toFixed(6)), [-0.7, 0.3]);
    });
  });

  it('ranks a row 1 = largest, ties sharing the better rank', () => {
    assert.deepEqual([...rowRanks([0.1, 0.5, 0.1, 0.3])], [3, 1, 3, 2]);
    assert.deepEqual([...rowRanks([9, 0.2, 0.7, 0.1, 9], 1, 4)], [2, 1, 3]);
    const next = rng(5);
    const row = Array.from({ length: 50 }, () => Math.round(next() * 20) / 20);
    const ranks = rowRanks(row);
    row.forEach((w, j) => assert.equal(ranks[j], 1 + row.filter((x) => x > w).length));
  });

  it('picks the top-k lines of a query row or a key column inside a token range', () => {
    // [3 queries, 4 keys]
    const map = [0.7, 0.1, 0.1, 0.1, 0.2, 0.5, 0.3, 0, 0.25, 0.25, 0.4, 0.1];
    assert.deepEqual(topLines(map, 3, 4, 'query', 1, 2, 0, 4), [{ query: 1, key: 1, weight: 0.5 }, { query: 1, key: 2, weight: 0.3 }]);
    assert.deepEqual(topLines(map, 3, 4, 'query', 2, 2, 0, 4).map((l) => l.key), [2, 0], 'ties: lower index first');
    assert.deepEqual(topLines(map, 3, 4, 'query', 0, 5, 1, 3).map((l) => l.key), [1, 2], 'only keys in range');
    assert.deepEqual(topLines(map, 3, 4, 'key', 0, 2, 0, 3), [{ query: 0, key: 0, weight: 0.7 }, { query: 2, key: 0, weight: 0.25 }]);
  });

  describe('CLI snippet', () => {
    it('quotes so that /bin/sh hands the CLI the exact text', () => {
      for (const text of ["It's a \"test\" $HOME `x` \\ ; rm -rf /", 'plain', 'two\nlines', '']) {
        const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(text)}`], { encoding: 'utf8' });
        assert.equal(out, text);
      }
      assert.equal(cliSnippet('samples/tiny-gpt', 'a cat'), "attention-inspector capture --model samples/tiny-gpt --text 'a cat' --out attention-out");
    });
  });

  describe('export messages (host side)', () => {
    const png = `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]).toString('base64')}`;

    it('accepts well-formed exports of each format', () => {
      const ok = [
        { type: 'export', format: 'png', name: 'attention-L0-H1.png', data: png },
        { type: 'export', format: 'svg', name: 'a.svg', data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' },
        { type: 'export', format: 'csv', name: 'a.csv', data: 'x,y\r\n' },
        { type: 'export', format: 'npy', name: 'a.npy', data: encodeFloat32(Float32Array.of(1, 2, 3, 4, 5, 6)), shape: [2, 3] },
        { type: 'export', format: 'snippet', name: 'a.sh', data: 'some text' },
      ];
      for (const m of ok) assert.deepEqual(parseWebviewMessage(m), m, m.format);
    });

    it('refuses paths, wrong extensions, wrong content and sizes that do not match', () => {
      const bad = [
        { type: 'export', format: 'csv', name: '../../etc/passwd.csv', data: '' },
        { type: 'export', format: 'csv', name: '/tmp/a.csv', data: '' },
        { type: 'export', format: 'csv', name: '.hidden.csv', data: '' },
        { type: 'export', format: 'csv', name: 'a.sh', data: '' },
        { type: 'export', format: 'exe', name: 'a.exe', data: '' },
        { type: 'export', format: 'png', name: 'a.png', data: 'data:image/svg+xml;base64,AAAA' },
        { type: 'export', format: 'png', name: 'a.png', data: 'data:image/png;base64,@@@@' },
        { type: 'export', format: 'svg', name: 'a.svg', data: '<script>alert(1)</script>' },
        { type: 'export', format: 'npy', name: 'a.npy', data: encodeFloat32(Float32Array.of(1, 2, 3)), shape: [2, 2] },
        { type: 'export', format: 'npy', name: 'a.npy', data: encodeFloat32(Float32Array.of(1, 2)), shape: [2, 0.5] },
        { type: 'export', format: 'snippet', name: 'a.sh', data: '   ' },
        { type: 'export', format: 'csv', name: 'a.csv', data: 42 },
      ];
      for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m).slice(0, 80));
    });

    it('writes .npy with the runtime encoder, PNG bytes as sent, and refuses a non-PNG image', () => {
      const npy = exportPayload({ type: 'export', format: 'npy', name: 'a.npy', data: encodeFloat32(Float32Array.of(1, 2, 3, 4, 5, 6)), shape: [2, 3] }, 'm');
      assert.equal(npy.kind, 'file');
      const back = decodeNpy(Buffer.from((npy as { bytes: Uint8Array }).bytes));
      assert.deepEqual(back.shape, [2, 3]);
      assert.deepEqual([...back.data], [1, 2, 3, 4, 5, 6]);
      const file = exportPayload({ type: 'export', format: 'png', name: 'a.png', data: png }, 'm');
      assert.deepEqual([...(file as { bytes: Uint8Array }).bytes].slice(0, 4), [0x89, 0x50, 0x4e, 0x47]);
      assert.throws(() => exportPayload({ type: 'export', format: 'png', name: 'a.png', data: 'data:image/png;base64,AAAA' }, 'm'), /not a PNG/);
    });
  });

  describe('checkpoint comparison', () => {
    const info = (name: string, heads: number[], kind: 'self' | 'cross' = 'self'): ModelInfo => ({
      modelId: name,
      name,
      format: 'onnx',
      layers: heads.map((h, index) => ({ index, kind, heads: h, source: `softmax_${index}` })),
      heads: Math.max(...heads),
      hasTokenizer: true,
    });

    it('compares only checkpoints with the same layers and heads', () => {
      assert.equal(architectureMismatch(info('a', [4, 4]), info('b', [4, 4])), undefined);
      assert.match(architectureMismatch(info('a', [4, 4]), info('b', [4, 4, 4]))!, /2 attention layers and b has 3/);
      assert.match(architectureMismatch(info('a', [4, 4]), info('b', [4, 8]))!, /layer 1: a has 4 self heads and b has 8 self heads/);
    });

    it('labels a text by its first characters on one line', () => {
      assert.equal(textLabel('The old\nking'), '“The old king”');
      assert.equal(textLabel('x'.repeat(50), 10), `“${'x'.repeat(9)}…”`);
    });
  });

  it('the CLI diff subcommand writes diff_<i>.npy = A − B over the common prefix of two captures', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'attention-diff-'));
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const model = join(__dirname, '..', '..', 'samples', 'tiny-gpt');
      assert.equal(await main(['capture', '--model', model, '--text', 'the old king saw a little black cat', '--out', join(dir, 'a')]), 0);
      assert.equal(await main(['capture', '--model', model, '--text', 'a little black cat saw the king', '--out', join(dir, 'b')]), 0);
      assert.equal(await main(['diff', '--a', join(dir, 'a'), '--b', join(dir, 'b'), '--out', join(dir, 'd')]), 0);
    } finally {
      process.stdout.write = write;
    }
    for (const i of [0, 1]) {
      const A = readNpy(join(dir, 'a', `layer_${i}.npy`));
      const B = readNpy(join(dir, 'b', `layer_${i}.npy`));
      const D = readNpy(join(dir, 'd', `diff_${i}.npy`));
      const [h, qa, ka] = A.shape;
      const [, qb, kb] = B.shape;
      const n = Math.min(qa, qb);
      assert.notEqual(qa, qb);
      assert.deepEqual(D.shape, [h, n, Math.min(ka, kb)]);
      for (let head = 0; head < h; head++) {
        for (let q = 0; q < n; q++) {
          for (let k = 0; k < n; k++) {
            const want = Math.fround(A.data[(head * qa + q) * ka + k] - B.data[(head * qb + q) * kb + k]);
            assert.equal(D.data[(head * n + q) * n + k], want);
          }
        }
      }
    }
    assert.ok(out.join('').includes(`common prefix`), out.join(''));
    rmSync(dir, { recursive: true, force: true });
  });
});
