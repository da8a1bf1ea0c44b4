/**
 * Hiding special tokens. Many heads park their mass on [BOS]/[CLS]/<s> (an attention sink),
 * which drowns every other weight in a picture; hiding those tokens drops their rows and
 * columns and renormalises each remaining row over the remaining keys, so a row reads as "where
 * the head looks among the real tokens". A row whose whole mass was on hidden keys has nothing
 * left to spread and stays zero (shown as empty, and skipped by the statistics).
 */
import { Mat, mat } from './matrix';

/**
 * Structural tokens of the common tokenizers: BERT's bracketed ones, SentencePiece/RoBERTa's
 * angle-bracket ones and GPT/LLaMA-3 style <|...|>. [UNK] is not here: it stands for a real
 * word of the text.
 */
const SPECIAL = /^(\[(BOS|EOS|CLS|SEP|PAD|MASK)\]|<\/?s>|<(pad|mask|bos|eos|unk)>|<\|[^|<>]+\|>|<start_of_turn>|<end_of_turn>)$/i;

export function isSpecialToken(text: string): boolean {
  return SPECIAL.test(text.trim());
}

/** Indices of the tokens that stay when special tokens are hidden (all of them when not). */
export function keptTokens(tokens: string[], hide: boolean): number[] {
  const out: number[] = [];
  tokens.forEach((t, i) => {
    if (!hide || !isSpecialToken(t)) out.push(i);
  });
  return out;
}

/**
 * The sub-map of rows `qs` and columns `ks`, each row renormalised over the kept columns.
 * With every column kept the rows already sum to 1 and come back as they were.
 */
export function restrictMap(m: Mat, qs: number[], ks: number[]): Mat {
  const out = mat(qs.length, ks.length);
  qs.forEach((q, i) => {
    let s = 0;
    for (let j = 0; j < ks.length; j++) s += m.data[q * m.cols + ks[j]];
    if (s <= 0) return;
    for (let j = 0; j < ks.length; j++) out.data[i * ks.length + j] = m.data[q * m.cols + ks[j]] / s;
  });
  return out;
}
