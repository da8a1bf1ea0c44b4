/**
 * Text -> token ids with the model's own tokenizer.json (Hugging Face format), read by the
 * pure-JS @huggingface/tokenizers so no native or Python tokenizer is needed. Encoding runs in
 * a worker thread with a time limit and cancellation (server/tokenize/workerClient.ts), and
 * stops at the token limit (server/tokenize/boundedEncode.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/errors';
import { requireRegularFile } from './regularFile';
import { encodeWithin } from './tokenize/boundedEncode';
import { buildTokenizer, parseTokenizerJson, TokenizerFileError, type BuiltTokenizer, type Encoded } from './tokenize/build';
import { stringSource, type TextSource } from './tokenize/textSource';
import { TokenizeWorker } from './tokenize/workerClient';

export type { Encoded } from './tokenize/build';

export interface EncodeOptions {
  /** Refuse past this many tokens, tokenizing no more of the text than that needs. */
  maxTokens?: number;
  isCancelled?: () => boolean;
}

export interface TextTokenizer {
  /** The tokenizer.json it was read from. */
  file: string;
  /** Id of the unknown token, when the tokenizer has one. */
  unkId: number | undefined;
  encode(text: string | TextSource, options?: EncodeOptions): Promise<Encoded>;
  /** Token strings for ids given directly (--ids); unknown ids show as their number. */
  tokensFor(ids: number[]): string[];
  /** Stops the worker thread (a later encode starts another). */
  dispose(): void;
}

export interface LoadTokenizerOptions {
  /** Time limit for one text, ms (default tokenizeTimeoutMs()). */
  timeoutMs?: number;
}

function readText(file: string): string {
  requireRegularFile(file, 'the tokenizer', 'pass token ids with --ids instead');
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: cannot read the tokenizer; pass token ids with --ids instead`);
  }
}

export function hasTokenizer(folder: string): boolean {
  return existsSync(join(folder, 'tokenizer.json'));
}

export function loadTokenizer(folder: string, options: LoadTokenizerOptions = {}): TextTokenizer {
  const file = join(folder, 'tokenizer.json');
  if (!existsSync(file)) {
    throw new UserError(`${file}: no tokenizer.json beside the model; pass token ids with --ids 3,17,5`);
  }
  const jsonText = readText(file);
  const configFile = join(folder, 'tokenizer_config.json');
  const configText = existsSync(configFile) ? readText(configFile) : undefined;
  const fileError = (f: string) => (e: unknown): never => {
    if (e instanceof TokenizerFileError) throw new UserError(`${f}: ${e.message}`);
    throw e;
  };
  let json: Record<string, unknown>;
  let config: Record<string, unknown> = {};
  try {
    json = parseTokenizerJson(jsonText, 'tokenizer.json');
  } catch (e) {
    return fileError(file)(e);
  }
  if (configText !== undefined) {
    try {
      config = parseTokenizerJson(configText, 'tokenizer_config.json');
    } catch (e) {
      return fileError(configFile)(e);
    }
  }
  if (!('model' in json)) {
    throw new UserError(`${file}: not a Hugging Face tokenizer.json (no "model" section); pass --ids instead`);
  }
  // Built here too, so a file the library refuses is reported when the model opens.
  let tok: BuiltTokenizer;
  try {
    tok = buildTokenizer(json, config);
  } catch (e) {
    throw new UserError(`${file}: unsupported tokenizer (${String((e as Error)?.message ?? e).split('\n')[0]}); pass --ids instead`);
  }
  const worker = new TokenizeWorker(file, { json: jsonText, config: configText }, options.timeoutMs);
  return {
    file,
    unkId: tok.unkId,
    encode(text, opts = {}) {
      const source = typeof text === 'string' ? stringSource(text) : text;
      return encodeWithin(source, (t) => worker.encode(t, { isCancelled: opts.isCancelled }), opts.maxTokens);
    },
    tokensFor(ids: number[]): string[] {
      try {
        return ids.map((id) => tok.idToToken(id) ?? String(id));
      } catch (e) {
        throw new UserError(`${file}: the tokenizer fails on these ids (${String((e as Error)?.message ?? e).split('\n')[0]}); re-save it with tokenizer.save_pretrained`);
      }
    },
    dispose: () => worker.dispose(),
  };
}
