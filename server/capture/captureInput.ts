/**
 * Turning a capture's input (text or ids) into token ids and their strings, with the limits
 * and one-line refusals shared by every model format.
 */
import type { TextTokenizer } from '../tokenizer';
import { UserError, type CaptureInput } from './types';

export function resolveIds(
  input: CaptureInput,
  tokenizer: TextTokenizer | undefined,
  modelPath: string,
  maxTokens?: number,
): { ids: number[]; tokens: string[] } {
  let ids: number[];
  let tokens: string[];
  if (input.ids !== undefined) {
    ids = input.ids;
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0);
    if (bad !== undefined) throw new UserError(`token id ${bad} is not a non-negative integer`);
    tokens = tokenizer ? tokenizer.tokensFor(ids) : ids.map(String);
  } else if (input.text !== undefined) {
    if (input.text.trim().length === 0) throw new UserError('empty text: give some text to inspect');
    if (!tokenizer) {
      throw new UserError(`${modelPath}: no tokenizer.json beside the model; pass token ids with --ids 3,17,5`);
    }
    ({ ids, tokens } = tokenizer.encode(input.text));
  } else {
    throw new UserError('nothing to inspect: give a text or token ids');
  }
  if (ids.length === 0) throw new UserError('empty input: the text produced no tokens');
  if (maxTokens !== undefined && ids.length > maxTokens) {
    throw new UserError(
      `${ids.length} tokens is more than the limit of ${maxTokens} (--max-tokens / attentionInspector.maxTokens); shorten the text or raise the limit`,
    );
  }
  return { ids, tokens };
}

/**
 * The decoder's input of an encoder-decoder model: the target text or ids when given, else the
 * source ids again (teacher forcing on the input itself, which shows alignment without a
 * translation at hand). Refused for models without a decoder input.
 */
export function resolveTarget(
  input: CaptureInput,
  source: { ids: number[]; tokens: string[] },
  tokenizer: TextTokenizer | undefined,
  modelPath: string,
  hasDecoder: boolean,
  maxTokens?: number,
): { ids: number[]; tokens: string[] } | undefined {
  const given = input.targetIds !== undefined || input.targetText !== undefined;
  if (!hasDecoder) {
    if (given) throw new UserError(`${modelPath}: has no decoder_input_ids input; a target text or ids applies to encoder-decoder models only`);
    return undefined;
  }
  if (!given) return source;
  return resolveIds({ ids: input.targetIds, text: input.targetIds === undefined ? input.targetText : undefined }, tokenizer, modelPath, maxTokens);
}
