/** `attention-inspector internals`: one layer's queries, keys and value-weighted norms, as .npy. */
import { OutputFolder } from './outputFolder';
import { checkLayers, headInternals } from '../internals/headInternals';
import { openInternalsGraph } from '../internals/internalsGraph';
import { valueWeightedMaps } from '../internals/valueNorms';
import { UsageError, parseFlags, positiveInt, printedHelp, requireModelAndOut } from './args';
import { executionProviderFlag, inputFromFlags } from './captureRun';

const HELP = `usage: attention-inspector internals --model <folder|file.onnx> (--text "<text>" | --text-file <file> | --ids 3,17,5) --layer L --out <dir> [--ep <provider>] [--max-tokens N]

Runs the model once and writes, for attention layer L (graph order, from 0), to <dir>:
  q.npy             queries as they enter the score, float32 [heads, n, dHead] (after RoPE)
  k.npy             keys likewise, grouped-query keys repeated per query head
  value_norms.npy   ‖α·f_h(x_k)‖ (Kobayashi et al. 2020), float32 [heads, n, n]: the map with
                    each key scaled by the norm of its value through the head's slice of the
                    output projection (bias excluded)
  internals.json    {"layer", "heads", "dHead", "scale", ...}: softmax(q·kᵀ·scale + mask), with
                    the causal mask for decoders, reproduces layer_<L>.npy of a capture; also
                    "causal", "window" (sliding-window models: keys j > i - window only), "scaleFrom", "mixingRatio" (Kobayashi et al. 2021, per token) and notes`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', layer: 'string', out: 'string', ep: 'string', 'max-tokens': 'string', help: 'boolean' } as const;

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'internals');
  if (printedHelp(flags, HELP)) return 0;
  requireModelAndOut(flags, 'internals');
  if (flags.layer === undefined) throw new UsageError('internals: --layer L is required (attention layers count from 0)');
  const layer = Number(flags.layer);
  if (!Number.isInteger(layer) || layer < 0) throw new UsageError(`internals: --layer needs a non-negative integer, got "${flags.layer}"`);
  const ep = executionProviderFlag(flags, 'internals');
  const input = inputFromFlags(flags, 'internals');
  const maxTokens = positiveInt(flags['max-tokens'], 'max-tokens', 'internals');
  const g = await openInternalsGraph(flags.model);
  checkLayers(g, [layer]);
  // --out is checked once the model and the layer are known to be good, before the run.
  const out = OutputFolder.open(flags.out, { command: 'internals' });
  const { ids } = await g.resolve(input, maxTokens);
  const run = await headInternals(g, ids, [layer], ep);
  const x = run.layers[0];
  out.writeNpy('q.npy', x.q, [x.heads, x.n, x.dHead]);
  out.writeNpy('k.npy', x.k, [x.heads, x.n, x.dHead]);
  if (x.valueNorms) out.writeNpy('value_norms.npy', valueWeightedMaps(x.probs, x.valueNorms, x.heads, x.n, x.n), [x.heads, x.n, x.n]);
  out.writeJson('internals.json', {
    layer, heads: x.heads, dHead: x.dHead, scale: x.scale, n: x.n, causal: x.causal, ...(x.window ? { window: x.window } : {}), scaleFrom: x.scaleFrom,
    executionProvider: run.provider,
    ...(x.mixing ? { mixingRatio: [...x.mixing], meanMixingRatio: x.mixing.reduce((a, b) => a + b, 0) / x.n } : {}),
    notes: x.notes,
  });
  out.finish({ command: 'internals', layer, tokens: x.n });
  process.stdout.write(`layer ${layer}: ${x.heads} heads × ${x.n} tokens, dHead ${x.dHead}, scale ${x.scale.toPrecision(6)}${x.valueNorms ? '' : ' (no value norms: see internals.json notes)'} -> ${flags.out}\n`);
  return 0;
}
