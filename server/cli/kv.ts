/** `attention-inspector kv`: one KV-cache eviction policy at one budget, simulated on the model. */
import { UserError } from '../../common/errors';
import { POLICIES, type EvictionPolicy } from '../serving/evictionPolicies';
import { assertCausal, checkSimulationSize, simulateKv, validatePolicy } from '../serving/kvSimulation';
import { openMaskedModel } from '../serving/maskedModel';
import { OutputFolder } from './outputFolder';
import { UsageError, parseFlags, positiveInt, printedHelp, requireModelAndOut } from './args';
import { EXECUTION_PROVIDERS, executionProviderFlag, inputFromFlags } from './captureRun';

const HELP = `usage: attention-inspector kv --model <folder|file.onnx> (--text "<text>" | --text-file <file> | --ids 3,17,5) --policy streaming|h2o|snapkv|tova --budget B [--sinks S] --out <dir> [--ep <provider>] [--max-tokens N]

Simulates a KV-cache eviction policy with a budget of B tokens per head on a causal model and
writes to <dir>:
  kv.json          {"policy","budget","sinks","layers":[{"massKept":[per head]}...],"nextTokenKL","top1Agreement","kvBytesSaved"}
  kv-details.json  per layer the relative L2 error of the attention output, the KL at each position

massKept is the mean over all query rows of the attention mass on the kept keys (rows q < B
keep everything and count as 1); nextTokenKL is the mean over q >= B of KL(p_full || p_policy)
with the model run so each query sees only its kept keys; kvBytesSaved comes from the
efficiency estimator (cache of n tokens minus cache of B tokens). Policies and how each is
mapped onto a prefill pass: docs/serving.md.

options:
  --policy      streaming (Xiao et al. 2023), h2o (Zhang et al. 2023), snapkv (Li et al. 2024), tova (Oren et al. 2024)
  --budget      cache budget B in tokens per head (>= 1)
  --sinks       streaming only: attention sinks s kept at the start (0 <= s < B, default min(4, B-1))
  --ep          ${EXECUTION_PROVIDERS.join(' | ')} (default auto)`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', policy: 'string', budget: 'string', sinks: 'string', out: 'string', ep: 'string', 'max-tokens': 'string', help: 'boolean' } as const;

function wholeNumber(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isInteger(n)) throw new UsageError(`kv: --${flag} needs a whole number, got "${value}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'kv');
  if (printedHelp(flags, HELP)) return 0;
  requireModelAndOut(flags, 'kv');
  const policy = flags.policy as EvictionPolicy | undefined;
  if (policy === undefined) throw new UsageError(`kv: --policy is required (${POLICIES.join(', ')})`);
  if (!POLICIES.includes(policy)) throw new UsageError(`kv: --policy must be one of ${POLICIES.join(', ')}, got "${policy}"`);
  const budget = wholeNumber(flags.budget, 'budget');
  if (budget === undefined) throw new UsageError('kv: --budget B (tokens per head) is required');
  const sinks = wholeNumber(flags.sinks, 'sinks');
  const options = { policy, budget, sinks };
  try {
    validatePolicy(options);
  } catch (e) {
    if (e instanceof UserError) throw new UsageError(`kv: ${e.message}`);
    throw e;
  }
  const ep = executionProviderFlag(flags, 'kv');
  const input = inputFromFlags(flags, 'kv');
  const maxTokens = positiveInt(flags['max-tokens'], 'max-tokens', 'kv');
  const model = await openMaskedModel(flags.model, ep);
  try {
    // --out is checked once the model is known to open, before the run.
    const out = OutputFolder.open(flags.out, { command: 'kv' });
    const { ids, tokens } = await model.resolve(input, maxTokens);
    checkSimulationSize(model.heads, ids.length, flags.model);
    const full = await model.run(ids);
    assertCausal(full.probs, ids.length, flags.model);
    const { report, details } = await simulateKv(model, ids, full, options);
    out.writeJson('kv.json', report);
    out.writeJson('kv-details.json', {
      tokens,
      ids,
      executionProvider: model.provider,
      outputRelativeL2: details.outputRelativeL2,
      klByPosition: details.klByPosition,
      notes: details.notes,
    });
    out.finish({ command: 'kv', model: model.name, tokens: ids.length, policy, budget });
    const mass = report.layers.flatMap((l) => l.massKept);
    const meanMass = mass.reduce((a, b) => a + b, 0) / Math.max(1, mass.length);
    const kl = details.notes.length > 0 ? 'no logits output, no KL' : report.nextTokenKL === null ? `no position beyond the budget (${ids.length} tokens)` : `KL ${report.nextTokenKL.toExponential(3)}, top-1 ${(100 * report.top1Agreement!).toFixed(1)}%`;
    process.stdout.write(`${model.name}: ${policy} B=${budget}${report.sinks !== null ? ` s=${report.sinks}` : ''} over ${ids.length} tokens: mass kept ${meanMass.toFixed(4)}, ${kl}, ${report.kvBytesSaved} KV bytes saved -> ${flags.out}\n`);
    return 0;
  } finally {
    await model.dispose();
  }
}
