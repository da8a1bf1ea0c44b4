/**
 * Tokenizing no further than the token limit needs. Without a limit the whole text is encoded.
 * With one, a growing prefix is encoded (cut at a space, so the last word is whole): when a
 * prefix already gives more tokens than the limit, so would the whole text, and it is refused
 * there; when the prefix is the whole text, its tokens are the answer. Each step reads four
 * times more than the last, so the work is at most a few times that of the text up to the limit.
 */
import { UserError } from '../../common/errors';
import type { Encoded } from './build';
import type { TextSource } from './textSource';

/** Characters read per allowed token at first (most tokens are 2 to 6 characters). */
const CHARS_PER_TOKEN = 8;
const FIRST_CHARS = 16_384;

export type EncodeFn = (text: string) => Promise<Encoded>;

/** `text` cut after its last whitespace when there is one in its second half (a whole last word). */
function cutAtSpace(text: string): string {
  for (let i = text.length - 1; i >= text.length / 2; i--) {
    if (/\s/.test(text[i])) return text.slice(0, i);
  }
  return text;
}

export async function encodeWithin(source: TextSource, encode: EncodeFn, maxTokens?: number): Promise<Encoded> {
  if (maxTokens === undefined) return encode(source.read(Number.POSITIVE_INFINITY).text);
  let chars = Math.max(FIRST_CHARS, maxTokens * CHARS_PER_TOKEN);
  for (;;) {
    const { text, complete } = source.read(chars);
    if (complete) return encode(text);
    const prefix = cutAtSpace(text);
    const enc = await encode(prefix);
    if (enc.ids.length > maxTokens) {
      throw new UserError(
        `${source.name === 'the text' ? 'the text' : source.name}: more than ${maxTokens} tokens (its first ${prefix.length.toLocaleString('en-US')} characters already give ${enc.ids.length}), the limit of --max-tokens / attentionInspector.maxTokens; shorten the text or raise the limit`,
      );
    }
    chars *= 4;
  }
}
