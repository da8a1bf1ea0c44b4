/**
 * Head-type scores against an independent computation from captured maps, on sequences with
 * known repeats (the repeat probe, a text whose phrase recurs) and without any (null scores),
 * and the heads samples/tiny-gpt/README.md names found on the probe.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import type { CaptureInput, LayerMap } from '../../server/capture/types';
import { headTypes, scoreLayer } from '../../common/headScores';
import { probeVocabulary, repeatProbeIds } from '../../server/serving/repeatProbe';
import { gpt2Fixture } from '../helpers/hfFixtures';
import { writeHfFolder } from '../helpers/writeCheckpoint';

const TINY = join(__dirname, '..', '..', 'samples', 'tiny-gpt');

async function capture(path: string, input: CaptureInput): Promise<{ maps: LayerMap[]; ids: number[] }> {
  const model = await openModel(path, { executionProvider: 'cpu' });
  try {
    const maps: LayerMap[] = [];
    const r = await model.capture(input, { onLayer: (m) => void maps.push(m) });
    return { maps, ids: r.ids };
  } finally {
    await model.dispose();
  }
}

/** The four definitions written out over (q, j) pairs, sharing nothing with headScores.ts. */
function reference(map: LayerMap, ids: number[], h: number): { prev: number | null; dup: number | null; ind: number | null; sink: number | null } {
  const n = ids.length;
  const a = (q: number, k: number) => map.data[h * n * n + q * n + k];
  const prevRows = Array.from({ length: n }, (_, q) => q).filter((q) => q >= 1);
  const dupRows = prevRows.filter((q) => ids.slice(0, q).includes(ids[q]));
  const indRows = prevRows.filter((q) => ids.slice(0, Math.max(0, q - 1)).includes(ids[q]));
  const avg = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
  return {
    prev: avg(prevRows.map((q) => a(q, q - 1))),
    sink: avg(ids.map((_, q) => a(q, 0))),
    dup: avg(dupRows.map((q) => ids.reduce((s, x, j) => s + (j < q && x === ids[q] ? a(q, j) : 0), 0))),
    ind: avg(indRows.map((q) => ids.reduce((s, x, j) => s + (j < q - 1 && x === ids[q] ? a(q, j + 1) : 0), 0))),
  };
}

function assertScores(maps: LayerMap[], ids: number[]): void {
  const close = (x: number | null, y: number | null, what: string) => {
    if (x === null || y === null) return assert.equal(x, y, what);
    assert.ok(Math.abs(x - y) < 1e-9, `${what}: ${x} vs ${y}`);
  };
  for (const map of maps) {
    const s = scoreLayer(map, ids);
    for (let h = 0; h < map.heads; h++) {
      const r = reference(map, ids, h);
      close(s.previousToken[h], r.prev, `L${map.index}H${h} previous-token`);
      close(s.duplicateToken[h], r.dup, `L${map.index}H${h} duplicate-token`);
      close(s.induction[h], r.ind, `L${map.index}H${h} induction`);
      close(s.sink[h], r.sink, `L${map.index}H${h} sink`);
    }
  }
}

describe('head types', () => {
  it('the repeat probe: [BOS] + N seeded ordinary tokens twice; the same seed gives the same ids', () => {
    const vocab = probeVocabulary(TINY);
    assert.equal(vocab.bos, 2, 'tiny-gpt prepends [BOS] (id 2) by its TemplateProcessing');
    const ids = repeatProbeIds(25, 7, vocab);
    assert.equal(ids.length, 51);
    assert.equal(ids[0], 2);
    assert.deepEqual(ids.slice(1, 26), ids.slice(26));
    assert.ok(ids.slice(1).every((id) => !vocab.special.has(id) && id < vocab.size));
    assert.deepEqual(repeatProbeIds(25, 7, vocab), ids);
    assert.notDeepEqual(repeatProbeIds(25, 8, vocab), ids);
  });

  it('tiny-gpt on the probe: scores equal the definitions computed independently from the captured maps', async () => {
    const ids = repeatProbeIds(30, 11, probeVocabulary(TINY));
    const { maps, ids: got } = await capture(TINY, { ids });
    assert.deepEqual(got, ids);
    assertScores(maps, ids);
  });

  it('tiny-gpt on a text whose phrase recurs: same check', async () => {
    const { maps, ids } = await capture(TINY, { text: 'the cat sat on the mat . the cat sat on the mat . a dog ran' });
    assert.ok(new Set(ids).size < ids.length);
    assertScores(maps, ids);
  });

  it('a text with no repeated token: duplicate-token and induction are null for every head', async () => {
    const ids = [2, 10, 11, 12, 13, 14, 15, 16];
    const { maps } = await capture(TINY, { ids });
    for (const m of maps) {
      const s = scoreLayer(m, ids);
      assert.ok(s.duplicateToken.every((v) => v === null) && s.induction.every((v) => v === null));
      assert.ok(s.previousToken.every((v) => v !== null) && s.sink.every((v) => v !== null));
    }
  });

  it('a GPT-2 checkpoint (random weights, built graph): scores equal the independent computation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heads-gpt2-'));
    try {
      const { config, tensors } = gpt2Fixture();
      writeHfFolder(dir, config, tensors, {});
      const ids = [5, 9, 14, 3, 22, 5, 9, 14, 3, 22, 7];
      const { maps } = await capture(dir, { ids });
      assertScores(maps, ids);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the heads samples/tiny-gpt/README.md names: previous token L0H0 and L1H2, induction L1H0, same token L1H1, sinks L0H1 and L1H3', async () => {
    const ids = repeatProbeIds(40, 3, probeVocabulary(TINY));
    const { maps } = await capture(TINY, { ids });
    const types = maps.map((m) => headTypes(scoreLayer(m, ids)).map((t) => t[0] ?? null));
    assert.deepEqual(types, [
      ['previous-token', 'sink', null, null],
      ['induction', 'duplicate-token', 'previous-token', 'sink'],
    ]);
    // And each named head is the strongest of its kind.
    const scores = maps.map((m) => scoreLayer(m, ids));
    const best = (key: 'previousToken' | 'induction') => {
      const all = scores.flatMap((s, l) => s[key].map((v, h) => ({ l, h, v: v ?? -1 })));
      return all.sort((a, b) => b.v - a.v).slice(0, key === 'previousToken' ? 2 : 1).map((x) => `L${x.l}H${x.h}`).sort();
    };
    assert.deepEqual(best('previousToken'), ['L0H0', 'L1H2']);
    assert.deepEqual(best('induction'), ['L1H0']);
  });
});
