/**
 * `attention-inspector compare`: runs attention variants on the Q, K, V of one layer of a model
 * and writes compare.json (metrics against exact) and <variant>.npy maps.
 */
import { join } from 'node:path';
import { compareVariants, extendInputs, pickHead, type VariantResult } from '../variants/mechanismsRun';
import { openQkvSource } from '../variants/qkvCapture';
import { VARIANTS, getVariant, resolveVariantId } from '../variants/registry';
import type { VariantInputs, VariantParams } from '../variants/types';
import { checkLengthsPlausible, checkRunsFit, flagSubject, type LengthSubject } from '../variants/memoryNeed';
import { UsageError, parseFlags, positiveInt, printedHelp, requireModelAndOut } from './args';
import { executionProviderFlag, inputFromFlags } from './captureRun';
import { OutputFolder } from './outputFolder';

const HELP = `usage: attention-inspector compare --model <m> (--text "<t>" | --text-file <f> | --ids 3,17,5 | --ids-file <f>) --layer L
         [--head H] --variants a,b,c [--seq-lengths 512,1024] [--extend rerun|repeat|random]
         [--set id.key=value,...] [--repeats 3] [--seed N] [--ep <provider>] [--max-tokens N] --out <dir>

Captures Q, K, V of attention layer L (graph order, from 0), runs each variant on them as an
ONNX graph and writes to <dir>:
  compare.json   per variant: paper, relL2 and cosine of the output against exact, Jensen-Shannon
                 divergence of the maps (when both are probabilities), massKept (sparse patterns),
                 latency, measured peak memory, analytic FLOPs and bytes, notes
  <variant>.npy  its map at the text's length, float32 [heads, queries, keys]
--variants all runs every registered variant (see attention-inspector variants); exact is the
reference and always runs. --seq-lengths reruns the comparison at other lengths with Q/K/V from
the model run on the ids repeated to that length (rerun, default), the text's rows tiled
(repeat) or seeded Gaussians of the layer's std (random). Latency is the median of --repeats
timed runs after a warm-up; peak memory is the RSS growth over a run (CPU arena off).
Every length is checked against free memory before anything runs. compare.json is written
last and lists the files of the run ("files").`;

const SPEC = {
  model: 'string', text: 'string', 'text-file': 'string', ids: 'string', 'ids-file': 'string', layer: 'string', head: 'string',
  variants: 'string', 'seq-lengths': 'string', extend: 'string', set: 'string', ep: 'string', 'max-tokens': 'string',
  out: 'string', seed: 'string', repeats: 'string', help: 'boolean',
} as const;

/** Lengths up to this keep their maps (for JS divergence and mass kept); longer ones time only. */
const MAX_MAP_LENGTH = 2048;

const TEXT_LENGTH: LengthSubject = {
  label: (n) => `the text's ${n} tokens`,
  fix: (fits) => `use a shorter text (--max-tokens ${fits})`,
};

/** A typed id as the catalog's (an old id such as lsh with a note on stderr); unknown ids fail with the list. */
function canonicalId(typed: string): string {
  const { id, note } = resolveVariantId(typed);
  if (note) process.stderr.write(`note: ${note}\n`);
  return getVariant(id).id;
}

/** --set longformer.window=64,reformer-lsh.buckets=4 */
function parseSet(text: string | undefined): Record<string, VariantParams> {
  const out: Record<string, VariantParams> = {};
  for (const item of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s)) {
    const m = /^([\w-]+)\.(\w+)=(-?[\d.eE+-]+)$/.exec(item);
    if (!m || !Number.isFinite(Number(m[3]))) throw new UsageError(`compare: --set expects id.key=number, got "${item}"`);
    (out[canonicalId(m[1])] ??= {})[m[2]] = Number(m[3]);
  }
  return out;
}

function fmt(x: number | null, digits = 3): string {
  return x === null ? '-' : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(1) : x.toFixed(digits);
}

function table(rows: VariantResult[]): string {
  const head = ['variant', 'relL2', 'cosine', 'JS', 'massKept', 'ms', 'peak MB', 'GFLOP'];
  const body = rows.map((r) => r.error
    ? [r.id, `error: ${r.error}`]
    : [r.id, fmt(r.relL2), fmt(r.cosine, 4), fmt(r.js), fmt(r.massKept), r.latencyMs.toFixed(1), (r.peakBytes / 1e6).toFixed(1), (r.flops / 1e9).toFixed(3)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b.length > 2 || i === 0 ? (b[i] ?? '').length : 0))));
  return [head, ...body].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : r.length === 2 ? c : c.padStart(w[i]))).join('  ')).join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'compare');
  if (printedHelp(flags, HELP)) return 0;
  requireModelAndOut(flags, 'compare');
  if (flags.layer === undefined) throw new UsageError('compare: --layer L is required (attention layers count from 0)');
  const layer = Number(flags.layer);
  if (!Number.isInteger(layer) || layer < 0) throw new UsageError(`compare: --layer needs a non-negative integer, got "${flags.layer}"`);
  const head = flags.head === undefined ? undefined : Number(flags.head);
  if (head !== undefined && (!Number.isInteger(head) || head < 0)) throw new UsageError(`compare: --head needs a non-negative integer, got "${flags.head}"`);
  const ep = executionProviderFlag(flags, 'compare');
  const extend = (flags.extend ?? 'rerun') as 'rerun' | 'repeat' | 'random';
  if (!['rerun', 'repeat', 'random'].includes(extend)) throw new UsageError('compare: --extend must be rerun, repeat or random');
  const wanted = String(flags.variants ?? 'all');
  const ids = wanted === 'all' ? VARIANTS.map((v) => v.id) : wanted.split(',').map((s) => s.trim()).filter((s) => s).map(canonicalId);
  if (!ids.includes('exact')) ids.unshift('exact');
  const lengths = (typeof flags['seq-lengths'] === 'string' ? flags['seq-lengths'].split(',') : []).map((s) => positiveInt(s.trim(), 'seq-lengths', 'compare')!);
  const params = parseSet(flags.set as string | undefined);
  const seed = positiveInt(flags.seed, 'seed', 'compare') ?? 1234;
  const repeats = positiveInt(flags.repeats, 'repeats', 'compare') ?? 3;
  const input = inputFromFlags(flags, 'compare');
  checkLengthsPlausible(lengths, flagSubject('--seq-lengths'));
  const folder = OutputFolder.open(flags.out, { command: 'compare', owns: VARIANTS.map((v) => new RegExp(`^${v.id.replace(/[^\w-]/g, '\\$&')}\\.npy$`)), summaryFile: 'compare.json' });

  const source = await openQkvSource(flags.model, layer, ep);
  try {
    const { ids: tokenIds, tokens } = await source.resolve(input, positiveInt(flags['max-tokens'], 'max-tokens', 'compare'), undefined,
      (line) => process.stderr.write(`warning: ${line}\n`));
    const captured = await source.capture(tokenIds);
    const only = (x: VariantInputs, probs?: Float32Array): { x: VariantInputs; probs?: Float32Array } => {
      if (head === undefined) return { x, probs };
      if (head >= x.heads) throw new UsageError(`compare: --head ${head} is out of range (layer ${layer} has ${x.heads} heads)`);
      return {
        x: { ...x, heads: 1, q: pickHead(x.q, x.heads, head), k: pickHead(x.k, x.heads, head), v: pickHead(x.v, x.heads, head) },
        probs: probs && pickHead(probs, x.heads, head),
      };
    };
    const { x, probs } = only({ ...captured.inputs, seed }, captured.probs);
    // Sizes checked before any variant runs: at the text's length, then every --seq-lengths.
    checkRunsFit([x.n], ids, () => ({ heads: x.heads, d: x.d, maps: true }), params, TEXT_LENGTH);
    checkRunsFit(lengths, ids, (n) => ({ heads: x.heads, d: x.d, maps: n <= MAX_MAP_LENGTH, rerun: extend === 'rerun' }), params, flagSubject('--seq-lengths'));
    const files: string[] = [];
    const { reference, results } = await compareVariants(ids, x, {
      executionProvider: ep, params, repeats,
      onMap: (id, map, dims) => {
        const file = `${id}.npy`;
        folder.writeNpy(file, map, dims);
        files.push(file);
      },
    });
    let exactVsModel = 0;
    for (let i = 0; i < probs!.length; i++) exactVsModel = Math.max(exactVsModel, Math.abs(probs![i] - reference.map![i]));
    const runs = [];
    for (const n of lengths) {
      let xn: VariantInputs;
      let how: string = extend;
      if (extend === 'rerun') {
        try {
          const c = await source.capture(Array.from({ length: n }, (_, i) => tokenIds[i % tokenIds.length]));
          xn = only({ ...c.inputs, seed }).x;
          how = 'rerun: the model run on the ids repeated to this length';
        } catch (e) {
          xn = extendInputs(x, n, 'repeat');
          how = `repeat: the text's Q/K/V rows tiled (rerun failed: ${(e as Error).message.split('\n')[0]})`;
        }
      } else {
        xn = extendInputs(x, n, extend);
        how = extend === 'repeat' ? "repeat: the text's Q/K/V rows tiled" : "random: seeded Gaussians with each of the layer's Q/K/V std";
      }
      const maps = n <= MAX_MAP_LENGTH;
      const r = await compareVariants(ids, xn, { executionProvider: ep, params, maps, repeats });
      runs.push({ n, qkvSource: how, maps, variants: r.results });
      process.stdout.write(`\nn = ${n} (${how})\n${table(r.results)}\n`);
    }
    const summary = {
      model: flags.model, layer, head: head ?? null, tokens: tokens.length, executionProvider: source.provider,
      heads: x.heads, headDim: x.d, causal: x.causal, scale: captured.scale, seed,
      qkvSource: `captured from the model on the text (${tokens.length} tokens)`,
      reference: 'exact', exactVsModelMaxAbs: exactVsModel,
      notes: captured.notes, variants: results, lengths: runs,
    };
    folder.finish(summary);
    process.stdout.write(`layer ${layer}${head === undefined ? '' : ` head ${head}`}, ${tokens.length} tokens, ${x.heads} heads × d ${x.d}, exact vs model max |Δp| ${exactVsModel.toExponential(1)}\n${table(results)}\n-> ${join(flags.out, 'compare.json')}\n`);
    return 0;
  } finally {
    await source.dispose();
  }
}
