/**
 * Text -> token ids with the model's own tokenizer.json (Hugging Face format), read by the
 * pure-JS @huggingface/tokenizers so no native or Python tokenizer is needed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from './capture/types';

export interface Encoded {
  ids: number[];
  tokens: string[];
}

export interface TextTokenizer {
  /** The tokenizer.json it was read from. */
  file: string;
  encode(text: string): Encoded;
  /** Token strings for ids given directly (--ids); unknown ids show as their number. */
  tokensFor(ids: number[]): string[];
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: cannot read the tokenizer; pass token ids with --ids instead`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`${file}: not valid JSON (corrupt tokenizer?); re-save it with tokenizer.save_pretrained or pass --ids`);
  }
}

export function hasTokenizer(folder: string): boolean {
  return existsSync(join(folder, 'tokenizer.json'));
}

export function loadTokenizer(folder: string): TextTokenizer {
  const file = join(folder, 'tokenizer.json');
  if (!existsSync(file)) {
    throw new UserError(`${file}: no tokenizer.json beside the model; pass token ids with --ids 3,17,5`);
  }
  const json = readJson(file);
  const configFile = join(folder, 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJson(configFile) : {};
  if (typeof json !== 'object' || json === null || !('model' in json)) {
    throw new UserError(`${file}: not a Hugging Face tokenizer.json (no "model" section); pass --ids instead`);
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config as object);
  } catch (e) {
    throw new UserError(`${file}: unsupported tokenizer (${(e as Error).message.split('\n')[0]}); pass --ids instead`);
  }
  // A tokenizer.json the library accepts can still fail on first use (a malformed section is
  // only read when encoding): that is a broken file, reported as such, not a runtime fault.
  const broken = (e: unknown): UserError =>
    new UserError(`${file}: the tokenizer fails on this text (${String((e as Error)?.message ?? e).split('\n')[0]}); re-save it with tokenizer.save_pretrained or pass --ids instead`);
  return {
    file,
    encode(text: string): Encoded {
      try {
        const enc = tok.encode(text);
        return { ids: enc.ids.map(Number), tokens: enc.tokens };
      } catch (e) {
        throw broken(e);
      }
    },
    tokensFor(ids: number[]): string[] {
      try {
        return ids.map((id) => tok.id_to_token(id) ?? String(id));
      } catch (e) {
        throw broken(e);
      }
    },
  };
}
