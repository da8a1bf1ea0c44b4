/**
 * The variant and family catalogs are complete and read the same everywhere: every variant has a
 * paper and a cost model the estimator can evaluate, the estimator's ids are the runtime's, old
 * ids resolve with a note, every family parses its published sample config with the graph
 * builders' reader and the estimator's reader agreeing on the shape (sliding windows included),
 * and the tables of docs/variants.md and docs/efficiency.md equal the catalogs.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../common/errors';
import { estimate } from '../../server/efficiency/estimate';
import { MEASURABLE } from '../../server/efficiency/measured';
import { loadModelShape, readModelShape } from '../../server/efficiency/modelShape';
import { normaliseConfig } from '../../server/hf/config';
import { FAMILIES, familyKeys } from '../../server/hf/family';
import { KV_LAYOUTS, VARIANTS, costModelOf, getVariant, resolveVariantId, variantCatalog } from '../../server/variants/registry';

const root = join(__dirname, '..', '..');
const llama3 = () => loadModelShape(join(root, 'samples/configs/llama-3-8b/config.json'));

/** The rows of the first markdown table after `heading`, cells trimmed. */
function table(file: string, heading: string): string[][] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  assert.ok(start >= 0, `${file} has no "${heading}"`);
  const first = lines.findIndex((l, i) => i > start && l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].split('|').slice(1, -1).map((c) => c.trim()));
  return rows;
}

describe('variant catalog', () => {
  it('every variant has a paper with a year and a cost model the estimator evaluates to finite figures', () => {
    const ids = [...VARIANTS, ...KV_LAYOUTS].flatMap((v) => [v.id, ...((v as { aliases?: { id: string }[] }).aliases ?? []).map((a) => a.id)]);
    assert.equal(new Set(ids).size, ids.length, 'ids and aliases are unique');
    for (const v of [...VARIANTS, ...KV_LAYOUTS]) {
      assert.match(v.paper, /\b(19|20)\d\d\b/, `${v.id}: paper cites a year`);
      assert.ok(costModelOf(v).name, `${v.id}: cost model has a name`);
    }
    const shape = llama3();
    for (const mode of [{ seq: 1024 }, { seq: 4096, decode: true }]) {
      const e = estimate(shape, { ...mode, dtype: 'bf16' });
      for (const [id, f] of Object.entries(e.variants)) {
        for (const [what, x] of Object.entries({ flops: f.flops.total, bytes: f.bytes.total, seconds: f.rooflineSeconds, cache: f.kvCacheBytes })) {
          assert.ok(Number.isFinite(x) && x > 0, `${id} ${mode.seq}${mode.decode ? ' decode' : ''}: ${what} = ${x}`);
        }
      }
    }
  });

  it('the estimator answers under the runtime ids, in catalog order; measured variants are runtime variants', () => {
    const e = estimate(llama3(), { seq: 512 });
    assert.deepEqual(Object.keys(e.variants), variantCatalog().map((v) => v.id));
    for (const [id, m] of Object.entries(MEASURABLE)) {
      assert.equal(getVariant(m.runtime).id, id);
    }
    // The cost model's figures of full attention equal the exact variant's own analytic QKᵀ + AV count.
    const exact = getVariant('exact');
    const s = llama3();
    assert.equal(e.variants.exact.attentionScoreFlopsPerLayer, exact.flops(512, 512, s.headDim, s.heads, {}) - 5 * s.heads * 512 * 512);
  });

  it('old ids are accepted with a note: lsh is reformer-lsh, sliding is longformer', () => {
    assert.equal(resolveVariantId('lsh').id, 'reformer-lsh');
    assert.match(resolveVariantId('sliding').note!, /now "longformer"/);
    assert.equal(getVariant('lsh').id, 'reformer-lsh');
    const e = estimate(llama3(), { seq: 2048, variants: ['sliding'], params: { sliding: { window: 256 } } });
    assert.deepEqual(Object.keys(e.variants), ['longformer']);
    assert.equal(e.variants.longformer.params.window, 256);
    assert.ok(e.notes.some((n) => n.includes('"sliding" is now "longformer"')));
    assert.throws(() => getVariant('gqa'), (err: Error) => err instanceof UserError && /KV-head layout/.test(err.message));
    assert.throws(() => estimate(llama3(), { seq: 8, variants: ['nope'] }), (err: Error) => err instanceof UserError && /reformer-lsh/.test(err.message));
  });

  it("docs/variants.md lists exactly the catalog (its table and the per-variant tables)", () => {
    const rows = table('docs/variants.md', '## The catalog');
    const expected = variantCatalog().map((v) => [
      `\`${v.id}\``, v.paper, v.runnable ? 'yes' : 'no (KV layout)',
      Object.entries(v.params).map(([k, x]) => `${k}=${x}`).join(' ') || '—',
      `${v.cost.model}: ${v.cost.name}`, v.aliases.map((a) => `\`${a}\``).join(', ') || '—',
    ]);
    assert.deepEqual(rows, expected);
    const detailed = [
      ...table('docs/variants.md', '## Scoring functions, exact kernels, sparse patterns'),
      ...table('docs/variants.md', '## Linear, low-rank, random features, gated, hierarchical, mixtures'),
    ].map((r) => r[0].replace(/`/g, ''));
    assert.deepEqual(detailed.sort(), VARIANTS.map((v) => v.id).sort());
  });
});

describe('family catalog', () => {
  const samples = readdirSync(join(root, 'samples/configs'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, file: join(root, 'samples/configs', e.name, 'config.json') }))
    .map((s) => ({ ...s, config: JSON.parse(readFileSync(s.file, 'utf8')) as Record<string, unknown> }));

  it('every family parses its published sample config, and the builders and the estimator read the same shape', () => {
    let checked = 0;
    for (const f of FAMILIES) {
      const own = samples.filter((s) => s.config.model_type === f.modelType);
      // Without a published sample, a config of only model_type takes the transformers defaults.
      const cases = own.length ? own : [{ name: `${f.modelType} defaults`, file: `${f.modelType}/config.json`, config: { model_type: f.modelType } as Record<string, unknown> }];
      for (const s of cases) {
        const hf = normaliseConfig(s.file, s.config);
        assert.equal(hf.family, f.builder, s.name);
        if (!own.length) continue;
        const shape = readModelShape(s.config, s.file);
        assert.deepEqual([shape.layers, shape.heads, shape.kvHeads, shape.headDim], [hf.layers, hf.heads, hf.kvHeads, hf.headDim], s.name);
        // GPT-2 and BERT builders keep no window table: no layer slides.
        assert.deepEqual(shape.layerWindows.map((w) => w ?? 0), Array.from({ length: hf.layers }, (_, i) => hf.slidingWindow[i] ?? 0), `${s.name}: sliding windows`);
        checked++;
      }
    }
    assert.ok(checked >= 5, `${checked} published samples checked`);
  });

  it('the Qwen2 sliding-window rule is one rule: both readers slide from max_window_layers on, and only with use_sliding_window', () => {
    const base = { model_type: 'qwen2', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 4, sliding_window: 16, max_window_layers: 2 };
    for (const [use, want] of [[true, [0, 0, 16, 16]], [false, [0, 0, 0, 0]], [undefined, [0, 0, 0, 0]]] as const) {
      const cfg = { ...base, ...(use === undefined ? {} : { use_sliding_window: use }) };
      assert.deepEqual(normaliseConfig('config.json', cfg).slidingWindow, want, `use_sliding_window ${use}`);
      assert.deepEqual(readModelShape(cfg).layerWindows.map((w) => w ?? 0), want, `use_sliding_window ${use}`);
    }
  });

  it('gemma takes the transformers defaults: tied head, tanh GELU, √hidden embedding scale, (1 + w) norms', () => {
    const g = normaliseConfig('config.json', { model_type: 'gemma', hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, head_dim: 16, hidden_act: 'gelu' });
    assert.deepEqual([g.tieWordEmbeddings, g.activation, g.embedScale, g.normWeightOffset], [true, 'gelu_new', 8, 1]);
    assert.deepEqual(g.slidingWindow, [0, 0]);
  });

  it('docs/efficiency.md lists exactly the family catalog', () => {
    const rows = table('docs/efficiency.md', '## Model families');
    assert.deepEqual(rows, FAMILIES.map((f) => [`\`${f.modelType}\``, f.paper, f.builder, (f.extraKeys ?? []).map((k) => `\`${k}\``).join(', ') || '—']));
    for (const f of FAMILIES) assert.ok(familyKeys(f).length > 10, f.modelType);
  });
});
