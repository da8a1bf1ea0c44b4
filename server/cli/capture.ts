/** `attention-inspector capture`: every attention map of one text, as .npy files. */
import { parseFlags, printedHelp } from './args';
import { EXECUTION_PROVIDERS, captureToFolder, requestFromFlags, summaryLine } from './captureRun';

const HELP = `usage: attention-inspector capture --model <folder|file.onnx> (--text "<text>" | --text-file <file> | --ids 3,17,5 | --ids-file <file>) --out <dir> [--ep <provider>] [--target-text "<text>" | --target-ids 3,17] [--maps full|none] [--max-tokens N] [--memory-budget-mb M] [--verbose]

Runs the model once and writes to <dir>:
  tokens.json         {"tokens": [...], "ids": [...]} (plus targetTokens/targetIds for encoder-decoder models)
  layer_<i>.npy       self-attention probabilities of layer i, float32 [heads, queries, keys]
  cross_<i>.npy       cross-attention layers, if any: [heads, target, source] float32
  stats.json          {"layers": [{"entropy": [...], "distance": [...], "first": [...],
                      "previous": [...], "self": [...]}, ...]}: one object per attention layer in
                      graph order, one value per head (docs/views.md), no token hidden
  summary.json        model, layer and head counts, execution provider, timings, peak memory,
                      and "files": the files of this capture. Written last: a folder without it
                      holds no complete capture. Files of an earlier capture into <dir> that this
                      one did not rewrite are removed; every file appears whole or not at all.

options:
  --model       an ONNX export (folder with model.onnx + tokenizer.json, or a .onnx file) or a
                Hugging Face folder (config.json + *.safetensors)
  --ids         token ids, when the model has no tokenizer.json
  --text-file, --ids-file
                read the text, or ids separated by commas or whitespace, from a file; - reads
                standard input (for inputs too long for a command line)
  --target-text, --target-ids
                encoder-decoder models (decoder_input_ids): the decoder's input, whose tokens
                are the queries of cross-attention (default: the source ids again)
  --ep          ${EXECUTION_PROVIDERS.join(' | ')} (default auto: GPU providers of this build, else cpu)
  --maps        full (default): write every layer_<i>.npy / cross_<i>.npy; none: only
                stats.json (computed beside the probabilities; no full map leaves the provider)
  --max-tokens  refuse longer inputs (default: no limit)
  --memory-budget-mb
                bound on one attention layer's [heads, n, n] tensors (default 512): a layer
                above it runs by blocks of query rows that fit, and its layer_<i>.npy is written
                block by block, so a map never sits whole in memory. The model still runs once,
                one attention layer at a time, each file written as soon as its layer is done.
  --verbose     print provider notes to stderr`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', 'ids-file': 'string', out: 'string', ep: 'string', 'max-tokens': 'string', 'memory-budget-mb': 'string', maps: 'string', 'target-text': 'string', 'target-ids': 'string', verbose: 'boolean', help: 'boolean' } as const;

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'capture');
  if (printedHelp(flags, HELP)) return 0;
  const req = requestFromFlags(flags, 'capture');
  if (flags.verbose) req.log = (line) => process.stderr.write(`${line}\n`);
  const outcome = await captureToFolder(req);
  await outcome.model.dispose();
  process.stdout.write(`${summaryLine(outcome)} -> ${req.out}\n`);
  return 0;
}
