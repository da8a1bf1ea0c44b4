/**
 * Turning a capture's input (text, text file or ids) into token ids and their strings, with the
 * limits and one-line refusals shared by every model format. Texts are tokenized in a worker
 * with a time limit, no further than the token limit needs (server/tokenizer.ts).
 */
import type { TextTokenizer } from '../tokenizer';
import { fileSource, stringSource, type TextSource } from '../tokenize/textSource';
import { unknownTokenWarning } from '../tokenize/unknownTokens';
import type { CaptureInput, CaptureOptions } from './types';
import { UserError } from '../../common/errors';

type ResolveOptions = Pick<CaptureOptions, 'maxTokens' | 'isCancelled' | 'onWarning'>;

function textOf(input: CaptureInput): TextSource | undefined {
  if (input.textFile !== undefined) return fileSource(input.textFile);
  if (input.text !== undefined) return stringSource(input.text);
  return undefined;
}

export async function resolveIds(
  input: CaptureInput,
  tokenizer: TextTokenizer | undefined,
  modelPath: string,
  options: ResolveOptions = {},
): Promise<{ ids: number[]; tokens: string[] }> {
  const { maxTokens } = options;
  let ids: number[];
  let tokens: string[];
  const source = input.ids === undefined ? textOf(input) : undefined;
  if (input.ids !== undefined) {
    ids = input.ids;
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0);
    if (bad !== undefined) throw new UserError(`token id ${bad} is not a non-negative integer`);
    if (maxTokens !== undefined && ids.length > maxTokens) throw tooMany(ids.length, maxTokens);
    tokens = tokenizer ? tokenizer.tokensFor(ids) : ids.map(String);
  } else if (source !== undefined) {
    try {
      const head = source.read(65_536);
      if (head.text.trim().length === 0 && head.complete) {
        throw new UserError(source.name === 'the text' ? 'empty text: give some text to inspect' : `${source.name}: the text file is empty; put the text to inspect in it`);
      }
      if (!tokenizer) {
        throw new UserError(`${modelPath}: no tokenizer.json beside the model; pass token ids with --ids 3,17,5`);
      }
      ({ ids, tokens } = await tokenizer.encode(source, { maxTokens, isCancelled: options.isCancelled }));
    } finally {
      source.close();
    }
    const warning = unknownTokenWarning(ids, tokens, tokenizer.unkId);
    if (warning) options.onWarning?.(warning);
  } else {
    throw new UserError('nothing to inspect: give a text or token ids');
  }
  if (ids.length === 0) throw new UserError('empty input: the text produced no tokens');
  if (maxTokens !== undefined && ids.length > maxTokens) throw tooMany(ids.length, maxTokens);
  return { ids, tokens };
}

function tooMany(count: number, maxTokens: number): UserError {
  return new UserError(
    `${count} tokens is more than the limit of ${maxTokens} (--max-tokens / attentionInspector.maxTokens); shorten the text or raise the limit`,
  );
}

/**
 * The decoder's input of an encoder-decoder model: the target text or ids when given, else the
 * source ids again (teacher forcing on the input itself, which shows alignment without a
 * translation at hand). Refused for models without a decoder input.
 */
export async function resolveTarget(
  input: CaptureInput,
  source: { ids: number[]; tokens: string[] },
  tokenizer: TextTokenizer | undefined,
  modelPath: string,
  hasDecoder: boolean,
  options: ResolveOptions = {},
): Promise<{ ids: number[]; tokens: string[] } | undefined> {
  const given = input.targetIds !== undefined || input.targetText !== undefined;
  if (!hasDecoder) {
    if (given) throw new UserError(`${modelPath}: has no decoder_input_ids input; a target text or ids applies to encoder-decoder models only`);
    return undefined;
  }
  if (!given) return source;
  return resolveIds({ ids: input.targetIds, text: input.targetIds === undefined ? input.targetText : undefined }, tokenizer, modelPath, options);
}
