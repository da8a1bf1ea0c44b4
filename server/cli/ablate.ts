/** `attention-inspector ablate`: the effect on the output of removing each head, one at a time. */
import { ablateHeads } from '../internals/ablation';
import { OutputFolder } from './outputFolder';
import { openInternalsGraph } from '../internals/internalsGraph';
import { UsageError, parseFlags, positiveInt, printedHelp, requireModelAndOut } from './args';
import { executionProviderFlag, inputFromFlags } from './captureRun';

const HELP = `usage: attention-inspector ablate --model <folder|file.onnx> (--text "<text>" | --text-file <file> | --ids 3,17,5) --out <dir> [--ep <provider>] [--max-tokens N] [--rerun auto|from-layer|whole] [--verbose]

For every head of every attention layer, sets the head's slice of the concatenated heads to zero
before the output projection, re-runs the model and writes to <dir>:
  ablation.json   {"position": n-1, "layers": [[h0, h1, ...], ...], "metric", "target", "notes"}:
                  one array per attention layer in graph order. Causal LMs: KL(p_full ‖ p_ablated)
                  of the next-token distribution at the last position, in nats ("metric": "kl").
                  Encoders, and exports that end in hidden states: the relative L2 change of the
                  last hidden state ("metric": "relL2").
--rerun: auto (default) re-runs only the layers from the head's on (the graph cut at the residual
stream entering it) where a cut session costs less than it saves; from-layer always does where
the graph allows; whole re-runs the whole model each time. All three give the same values.`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', out: 'string', ep: 'string', 'max-tokens': 'string', rerun: 'string', verbose: 'boolean', help: 'boolean' } as const;
const RERUN = ['auto', 'from-layer', 'whole'] as const;

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'ablate');
  if (printedHelp(flags, HELP)) return 0;
  requireModelAndOut(flags, 'ablate');
  const ep = executionProviderFlag(flags, 'ablate');
  const rerun = (flags.rerun ?? 'auto') as (typeof RERUN)[number];
  if (!RERUN.includes(rerun)) throw new UsageError(`ablate: --rerun must be one of ${RERUN.join(', ')}, got "${String(flags.rerun)}"`);
  const input = inputFromFlags(flags, 'ablate');
  const maxTokens = positiveInt(flags['max-tokens'], 'max-tokens', 'ablate');
  const g = await openInternalsGraph(flags.model);
  // --out is checked once the model is known to open, before the run.
  const out = OutputFolder.open(flags.out, { command: 'ablate' });
  const { ids } = await g.resolve(input, maxTokens);
  const res = await ablateHeads(g, ids, ep, { rerun, onLayer: flags.verbose ? (l, v) => process.stderr.write(`layer ${l}: ${v.map((x) => x.toExponential(3)).join(' ')}\n`) : undefined });
  out.writeJson('ablation.json', {
    position: res.position, layers: res.layers, metric: res.metric, unit: res.metric === 'kl' ? 'nats' : 'ratio',
    target: res.target, executionProvider: res.provider, notes: res.notes,
  });
  out.finish({ command: 'ablate', position: res.position, metric: res.metric });
  let best = { l: 0, h: 0, v: -1 };
  res.layers.forEach((row, l) => row.forEach((v, h) => v > best.v && (best = { l, h, v })));
  process.stdout.write(`${res.layers.length} layers × ${res.layers[0]?.length ?? 0} heads ablated (${res.metric}); largest effect: layer ${best.l} head ${best.h} = ${best.v.toExponential(3)} -> ${flags.out}\n`);
  return 0;
}
