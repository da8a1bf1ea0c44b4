/**
 * A config.json is parsed into a tree (jsonc-parser) for every hover, lens and diagnostic, and
 * that parser recurses once per nesting level: one key holding arrays nested 100,000 deep, or a
 * million values, made every hover and CodeLens of the file fail ("Maximum call stack size
 * exceeded"). Before parsing, each value of a top-level key (and of a text_config key) is
 * measured with the non-recursive scanner; one too deep or too large is replaced by `null`
 * padded with spaces, so every offset and line stays where it was, and the key is reported as
 * skipped while the rest of the file is served as usual.
 */
import { createScanner, SyntaxKind } from 'jsonc-parser';

/** Far deeper than any real config (rope_scaling and quantization_config are 2 or 3 levels). */
export const MAX_DEPTH = 32;
/** Per-layer lists hold at most a few hundred values; twice the 10,000 layers read at most elsewhere. */
export const MAX_VALUES = 20_000;

export interface SkippedKey {
  key: string;
  why: string;
  offset: number;
  length: number;
}

interface Watch {
  key: string;
  start: number;
  base: number;
  depth: number;
  values: number;
}

const OPEN = new Set([SyntaxKind.OpenBraceToken, SyntaxKind.OpenBracketToken]);
const CLOSE = new Set([SyntaxKind.CloseBraceToken, SyntaxKind.CloseBracketToken]);
const SCALAR = new Set([SyntaxKind.StringLiteral, SyntaxKind.NumericLiteral, SyntaxKind.TrueKeyword, SyntaxKind.FalseKeyword, SyntaxKind.NullKeyword]);

/** The text with over-deep or over-large values of watched keys replaced by null, and which. */
export function boundConfigText(text: string): { text: string; skipped: SkippedKey[] } {
  const sc = createScanner(text, true);
  /** Per open container: whether its keys are watched (the root object and text_config). */
  const watched: boolean[] = [];
  let key: string | undefined;
  let afterColon = false;
  let watch: Watch | undefined;
  const skipped: SkippedKey[] = [];
  const end = (w: Watch, at: number) => {
    const why = w.depth > MAX_DEPTH ? `nested more than ${MAX_DEPTH} levels deep` : w.values > MAX_VALUES ? `holds more than ${MAX_VALUES.toLocaleString('en-US')} values` : undefined;
    if (why && at - w.start >= 4) skipped.push({ key: w.key, why, offset: w.start, length: at - w.start });
  };
  for (let k = sc.scan(); k !== SyntaxKind.EOF; k = sc.scan()) {
    const off = sc.getTokenOffset();
    const tokenEnd = off + sc.getTokenLength();
    const isValue = OPEN.has(k) || SCALAR.has(k);
    const inWatched = watched.length > 0 && watched[watched.length - 1];
    if (!watch && inWatched && afterColon && isValue) {
      const textConfig = watched.length === 1 && key === 'text_config' && k === SyntaxKind.OpenBraceToken;
      if (!textConfig) watch = { key: key ?? '', start: off, base: watched.length, depth: 0, values: 0 };
    }
    if (watch && isValue) watch.values++;
    if (OPEN.has(k)) {
      const isObject = k === SyntaxKind.OpenBraceToken;
      const watchKeys = isObject && (watched.length === 0 || (watched.length === 1 && inWatched && afterColon && key === 'text_config'));
      watched.push(watchKeys);
      if (watch) watch.depth = Math.max(watch.depth, watched.length - watch.base);
    } else if (CLOSE.has(k)) {
      watched.pop();
      if (watch && watched.length === watch.base) {
        end(watch, tokenEnd);
        watch = undefined;
        afterColon = false;
      }
    } else if (watch && SCALAR.has(k) && watched.length === watch.base) {
      end(watch, tokenEnd);
      watch = undefined;
    }
    // Keys and colons of the watched containers themselves.
    if (watched.length > 0 && watched[watched.length - 1] && !watch) {
      if (k === SyntaxKind.StringLiteral && !afterColon) key = sc.getTokenValue();
      else if (k === SyntaxKind.ColonToken) afterColon = true;
      else if (k === SyntaxKind.CommaToken) afterColon = false;
    }
    if (isValue && !watch && !OPEN.has(k)) afterColon = false;
    if (OPEN.has(k) && !watch) afterColon = false;
  }
  if (watch) end(watch, text.length);
  if (skipped.length === 0) return { text, skipped };
  return { text: rebuild(text, skipped), skipped };
}

/** `null` and spaces over each skipped value; line breaks kept, so offsets and lines do not move. */
function rebuild(text: string, skipped: SkippedKey[]): string {
  let out = '';
  let at = 0;
  for (const s of [...skipped].sort((a, b) => a.offset - b.offset)) {
    out += text.slice(at, s.offset);
    out += 'null' + text.slice(s.offset + 4, s.offset + s.length).replace(/[^\r\n]/g, ' ');
    at = s.offset + s.length;
  }
  return out + text.slice(at);
}
