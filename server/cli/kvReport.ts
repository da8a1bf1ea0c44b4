/** `attention-inspector kv-report`: every eviction policy swept over budgets, as an HTML view and JSON. */
import { join } from 'node:path';
import { DEFAULT_SINKS } from '../serving/evictionPolicies';
import { openMaskedModel } from '../serving/maskedModel';
import { probeVocabulary, repeatProbeIds } from '../serving/repeatProbe';
import { buildServingReport } from '../serving/servingReport';
import { servingHtml } from '../serving/servingHtml';
import { OutputFolder } from './outputFolder';
import { UsageError, parseFlags, positiveInt, printedHelp, requireModelAndOut } from './args';
import { executionProviderFlag, inputFromFlags } from './captureRun';

const HELP = `usage: attention-inspector kv-report --model <folder|file.onnx> (--text "<text>" | --text-file <file> | --ids 3,17,5 | --repeat N [--seed S]) --out <dir> [--budgets 4,8,16,32] [--sinks S] [--head-map-budget B] [--ep <provider>]

Runs StreamingLLM, H2O, SnapKV and TOVA at every budget and writes to <dir>:
  serving.html   the view: mass kept, next-token KL and KV bytes saved against the budget per
                 policy; a head map of the keys each policy drops for a chosen query over the
                 real map; head types (previous-token, duplicate-token, induction, sink)
  serving.json   the same figures

options:
  --budgets          cache budgets B in tokens per head (default 4,8,16,32)
  --sinks            StreamingLLM's sinks (default ${DEFAULT_SINKS}, at most B-1 at each budget)
  --head-map-budget  budget of the head map's kept keys (default the middle budget)
  --repeat, --seed   the repeat probe of the heads command instead of a text`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', repeat: 'string', seed: 'string', out: 'string', budgets: 'string', sinks: 'string', 'head-map-budget': 'string', ep: 'string', help: 'boolean' } as const;

function budgetsOf(value: string | boolean | undefined): number[] {
  if (value === undefined) return [4, 8, 16, 32];
  const list = String(value).split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((b) => !Number.isInteger(b) || b < 1)) throw new UsageError(`kv-report: --budgets needs comma-separated whole numbers ≥ 1, e.g. --budgets 4,8,16, got "${value}"`);
  return [...new Set(list)].sort((a, b) => a - b);
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'kv-report');
  if (printedHelp(flags, HELP)) return 0;
  requireModelAndOut(flags, 'kv-report');
  const budgets = budgetsOf(flags.budgets);
  const sinks = flags.sinks === undefined ? DEFAULT_SINKS : Number(flags.sinks);
  if (!Number.isInteger(sinks) || sinks < 0) throw new UsageError(`kv-report: --sinks needs a whole number ≥ 0, got "${flags.sinks}"`);
  const headMapBudget = positiveInt(flags['head-map-budget'], 'head-map-budget', 'kv-report') ?? budgets[Math.floor((budgets.length - 1) / 2)];
  const ep = executionProviderFlag(flags, 'kv-report');
  const repeat = positiveInt(flags.repeat, 'repeat', 'kv-report');
  if (repeat === undefined && flags.seed !== undefined) throw new UsageError('kv-report: --seed goes with --repeat N');
  const seed = flags.seed === undefined ? 0 : Number(flags.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`kv-report: --seed needs a whole number ≥ 0, got "${flags.seed}"`);
  const input = repeat === undefined ? inputFromFlags(flags, 'kv-report') : undefined;
  const model = await openMaskedModel(flags.model, ep);
  try {
    // --out is checked once the model is known to open, before the run.
    const out = OutputFolder.open(flags.out, { command: 'kv-report' });
    let ids: number[];
    let tokens: string[];
    let probe;
    if (input) ({ ids, tokens } = await model.resolve(input));
    else {
      const v = probeVocabulary(model.folder);
      ids = repeatProbeIds(repeat!, seed, v);
      tokens = model.tokenizer ? model.tokenizer.tokensFor(ids) : ids.map(String);
      probe = { repeat: repeat!, seed, bos: v.bos ?? null };
    }
    const report = await buildServingReport(model, ids, tokens, { budgets, sinks, headMapBudget, probe });
    out.writeJson('serving.json', report);
    out.writeFile('serving.html', servingHtml(report));
    out.finish({ command: 'kv-report', model: model.name, tokens: ids.length, budgets: report.budgets });
    process.stdout.write(`${model.name}: 4 policies x ${report.budgets.length} budgets over ${ids.length} tokens -> ${join(flags.out, 'serving.html')}\n`);
    return 0;
  } finally {
    await model.dispose();
  }
}
