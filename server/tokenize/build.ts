/**
 * Building a @huggingface/tokenizers Tokenizer from the texts of tokenizer.json and
 * tokenizer_config.json, with the fixes the library needs to encode as Hugging Face does. Used
 * by the runtime's thread (to refuse a broken file when the model opens) and by the worker that
 * encodes (server/tokenize/tokenizeWorker.ts), so both hold the same tokenizer.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface Encoded {
  ids: number[];
  tokens: string[];
}

export interface BuiltTokenizer {
  encode(text: string): Encoded;
  idToToken(id: number): string | undefined;
  /** Id of the unknown token, when the tokenizer has one. */
  unkId: number | undefined;
}

/** Why a file cannot be a tokenizer, or undefined; `file` names it in the message. */
export class TokenizerFileError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseTokenizerJson(text: string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new TokenizerFileError(`not valid JSON (corrupt ${what}?); re-save it with tokenizer.save_pretrained or pass --ids`);
  }
  if (!isObject(v)) throw new TokenizerFileError(`${what} is not a JSON object; re-save it with tokenizer.save_pretrained or pass --ids`);
  return v;
}

export function buildTokenizer(json: Json, config: Json): BuiltTokenizer {
  const model = isObject(json.model) ? json.model : undefined;
  let cfg = config;
  // WordLevel: the library reads the unknown token from tokenizer_config.json only; Hugging Face
  // reads the model's own unk_token. Without it every unknown word became id `undefined`.
  const wordLevel = model?.type === 'WordLevel';
  if (wordLevel && typeof model.unk_token === 'string' && typeof cfg.unk_token !== 'string') cfg = { ...cfg, unk_token: model.unk_token };
  const tok = new Tokenizer(json, cfg as object);
  const inner = (tok as unknown as { model?: { unk_token_id?: unknown; unk_token?: unknown; tokens_to_ids?: Map<string, number> } }).model;
  const unkId = typeof inner?.unk_token_id === 'number' ? inner.unk_token_id : undefined;
  const unkToken = typeof inner?.unk_token === 'string' ? inner.unk_token : undefined;
  return {
    unkId,
    idToToken: (id) => tok.id_to_token(id) ?? undefined,
    encode(text) {
      const enc = tok.encode(text);
      const ids = enc.ids.map(Number);
      const tokens = [...enc.tokens];
      for (let i = 0; i < ids.length; i++) {
        if (Number.isInteger(ids[i])) {
          // WordLevel keeps the word as the token where Hugging Face shows its unk_token.
          if (wordLevel && ids[i] === unkId && unkToken !== undefined) tokens[i] = unkToken;
          continue;
        }
        const word = JSON.stringify(String(tokens[i]).slice(0, 40));
        throw new TokenizerFileError(
          wordLevel
            ? `${word} is not in the WordLevel vocabulary and the tokenizer has no unk_token; add "unk_token" to its model section or pass --ids`
            : `the tokenizer gives no id for ${word}; re-save it with tokenizer.save_pretrained or pass --ids`,
        );
      }
      return { ids, tokens };
    },
  };
}
