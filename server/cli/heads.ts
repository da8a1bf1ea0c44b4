/** `attention-inspector heads`: previous-token, duplicate-token, induction and sink scores of every head. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { planFeeds } from '../capture/onnxFeeds';
import { readOnnxModel } from '../onnx/modelFile';
import { openModel } from '../capture/openModel';
import type { CaptureInput } from '../capture/types';
import { scoreLayer, headTypes, type LayerHeadScores } from '../../common/headScores';
import { probeVocabulary, repeatProbeIds } from '../serving/repeatProbe';
import { OutputFolder } from './outputFolder';
import { UsageError, parseFlags, positiveInt, type Flags, printedHelp, requireModelAndOut } from './args';
import { EXECUTION_PROVIDERS, executionProviderFlag, inputFromFlags } from './captureRun';

const HELP = `usage: attention-inspector heads --model <folder|file.onnx> (--text "<text>" | --text-file <file> | --ids 3,17,5 | --repeat N --seed S) --out <dir> [--ep <provider>]

Scores every head of every self-attention layer and writes to <dir>:
  heads.json    {"layers":[{"previousToken":[...],"duplicateToken":[...],"induction":[...],"sink":[...]}, ...]}
                one object per attention layer in graph order, one value per head (null where
                no row qualifies, e.g. induction on a text without repeats)
  tokens.json   the tokens and ids scored, and the probe (N, seed, BOS) when --repeat was used

Definitions (causal map a over tokens x): previous-token = mean over q >= 1 of a[q,q-1];
sink = mean over all rows of a[q,0] (a sink head above 0.3); duplicate-token = mean over rows q
with an earlier copy of x_q of the mass on those copies; induction = mean over rows q with a copy
x_j = x_q at j < q-1 of the mass on the tokens after those copies (a[q,j+1]).

options:
  --repeat N    the probe: N random ordinary tokens repeated twice, after BOS if the model has one
  --seed S      seed of the probe's draw (mulberry32; default 0), shown in the output
  --ep          ${EXECUTION_PROVIDERS.join(' | ')} (default auto)`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', repeat: 'string', seed: 'string', out: 'string', ep: 'string', help: 'boolean' } as const;

function seedOf(value: string | boolean | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`heads: --seed needs a whole number from 0 to 4294967295, got "${value}"`);
  return n;
}

/** --repeat N --seed S, refused with a text beside them. */
function probeFlags(flags: Flags): { repeat: number; seed: number } {
  if (['text', 'text-file', 'ids'].some((f) => flags[f] !== undefined)) throw new UsageError('heads: give --repeat N --seed S or a text (--text / --ids), not both');
  return { repeat: positiveInt(flags.repeat, 'repeat', 'heads') as number, seed: seedOf(flags.seed) };
}

export function headsInput(flags: Flags, folder: () => string, vocab?: number): { input: CaptureInput; probe?: { repeat: number; seed: number; bos: number | null } } {
  if (flags.repeat === undefined) {
    if (flags.seed !== undefined) throw new UsageError('heads: --seed goes with --repeat N');
    return { input: inputFromFlags(flags, 'heads') };
  }
  const { repeat, seed } = probeFlags(flags);
  const v = probeVocabulary(folder(), vocab);
  return { input: { ids: repeatProbeIds(repeat, seed, v) }, probe: { repeat, seed, bos: v.bos ?? null } };
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'heads');
  if (printedHelp(flags, HELP)) return 0;
  requireModelAndOut(flags, 'heads');
  const ep = executionProviderFlag(flags, 'heads');
  // Usage errors first: nothing is loaded for a command line that cannot run.
  if (flags.repeat === undefined) headsInput(flags, () => '');
  else probeFlags(flags);
  const model = await openModel(flags.model, { executionProvider: ep });
  try {
    // --out is checked once the model is known to open, before the run.
    const out = OutputFolder.open(flags.out, { command: 'heads' });
    const folder = statSync(model.path).isDirectory() ? model.path : dirname(model.path);
    // An ONNX export without tokenizer.json or config.json: the embedding's rows are the vocabulary.
    const bare = model.info.format === 'onnx' && !existsSync(join(folder, 'tokenizer.json')) && !existsSync(join(folder, 'config.json'));
    const vocab = flags.repeat !== undefined && bare ? planFeeds(readOnnxModel(model.path).model, model.path).vocabSize : undefined;
    const { input, probe } = headsInput(flags, () => folder, vocab);
    const layers: LayerHeadScores[] = [];
    let ids: number[] = [];
    let targetIds: number[] | undefined;
    const result = await model.capture(input, {
      onTokens: (_t, i, target) => {
        ids = i;
        targetIds = target?.ids;
      },
      onLayer: (map) => {
        if (map.kind !== 'self') return;
        // Encoder-decoders: encoder self layers run over the source, decoder ones over the target.
        const over = map.queries === ids.length ? ids : targetIds;
        if (over && map.queries === over.length && map.keys === over.length) layers.push(scoreLayer(map, over));
      },
    });
    out.writeJson('heads.json', { layers });
    out.writeJson('tokens.json', { tokens: result.tokens, ids: result.ids, ...(probe ? { probe } : {}) });
    out.finish({ command: 'heads', model: model.info.name, tokens: result.ids.length, layers: layers.length });
    const named = layers.flatMap((l, li) => headTypes(l).flatMap((t, h) => (t.length > 0 ? [`L${li}H${h} ${t[0]}`] : [])));
    const what = probe ? `repeat probe N=${probe.repeat} seed=${probe.seed}${probe.bos !== null ? ` after BOS ${probe.bos}` : ''}` : `${result.ids.length} tokens`;
    process.stdout.write(`${model.info.name}: ${layers.length} layers scored on ${what}; ${named.length > 0 ? named.join(', ') : 'no head clears its threshold'} -> ${flags.out}\n`);
    return 0;
  } finally {
    await model.dispose();
  }
}
