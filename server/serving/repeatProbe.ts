/**
 * The repeat probe of the head detectors (Olsson et al. 2022; TransformerLens' head detector):
 * N random tokens drawn with a seed, repeated twice, after BOS when the model has one. On it
 * an induction head attends from the second copy of a token to the token after its first copy,
 * and a duplicate-token head to the first copy itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../variants/rng';
import { UserError } from '../../common/errors';

export interface ProbeVocabulary {
  /** Ids drawn from [0, size). */
  size: number;
  /** Special ids never drawn ([PAD], [UNK], [BOS], ...). */
  special: Set<number>;
  /** Prepended when the tokenizer's template (or config.json's bos_token_id) has one. */
  bos?: number;
  /** Where size and bos came from, for the output. */
  source: string;
}

type Json = Record<string, unknown>;

function readJson(file: string): Json | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' ? (v as Json) : undefined;
  } catch {
    throw new UserError(`${file}: not valid JSON; fix the file or pass --ids`);
  }
}

/** The leading special token the tokenizer's post-processor puts before a single sequence. */
function templateBos(tok: Json): number | undefined {
  const pp = tok.post_processor as Json | null | undefined;
  if (!pp) return undefined;
  const procs = pp.type === 'Sequence' ? ((pp.processors as Json[]) ?? []) : [pp];
  for (const p of procs) {
    if (p.type === 'TemplateProcessing') {
      const first = (p.single as Json[] | undefined)?.[0]?.SpecialToken as Json | undefined;
      const spec = first ? ((p.special_tokens as Json)?.[String(first.id)] as Json | undefined) : undefined;
      const id = (spec?.ids as number[] | undefined)?.[0];
      if (Number.isInteger(id)) return id;
    }
    if (p.type === 'BertProcessing' || p.type === 'RobertaProcessing') {
      const cls = p.cls as [string, number] | undefined;
      if (cls && Number.isInteger(cls[1])) return cls[1];
    }
  }
  return undefined;
}

/** Vocabulary, special ids and BOS of a model folder (tokenizer.json, else config.json). */
export function probeVocabulary(folder: string, modelVocab?: number): ProbeVocabulary {
  const tok = readJson(join(folder, 'tokenizer.json'));
  const cfg = readJson(join(folder, 'config.json'));
  const special = new Set<number>();
  let size = modelVocab;
  let bos: number | undefined;
  let source = 'model';
  if (tok) {
    for (const a of (tok.added_tokens as Json[] | undefined) ?? []) if (a.special === true && Number.isInteger(a.id)) special.add(a.id as number);
    const vocab = (tok.model as Json | undefined)?.vocab;
    const n = Array.isArray(vocab) ? vocab.length : vocab && typeof vocab === 'object' ? Object.keys(vocab).length : undefined;
    if (n !== undefined) size = size === undefined ? n : Math.min(size, n);
    bos = templateBos(tok);
    source = 'tokenizer.json';
  }
  if (cfg) {
    const v = cfg.vocab_size;
    if (Number.isInteger(v)) size = size === undefined ? (v as number) : Math.min(size, v as number);
    if (bos === undefined && Number.isInteger(cfg.bos_token_id)) {
      bos = cfg.bos_token_id as number;
      source += source === 'model' ? '' : ' + config.json bos_token_id';
    }
    if (Number.isInteger(cfg.bos_token_id)) special.add(cfg.bos_token_id as number);
    if (Number.isInteger(cfg.eos_token_id)) special.add(cfg.eos_token_id as number);
  }
  if (bos !== undefined) special.add(bos);
  if (size === undefined) throw new UserError(`${folder}: no tokenizer.json or config.json tells the vocabulary size for --repeat; pass --ids instead`);
  return { size, special, bos, source };
}

/** [BOS] + t_1..t_N + t_1..t_N with t_i uniform over the non-special ids (mulberry32(seed)). */
export function repeatProbeIds(n: number, seed: number, vocab: ProbeVocabulary): number[] {
  if (vocab.size - vocab.special.size < 2) throw new UserError(`the vocabulary has ${vocab.size} ids, too few ordinary ones to draw a probe from; pass --ids`);
  const rand = mulberry32(seed);
  const draw: number[] = [];
  while (draw.length < n) {
    const id = Math.floor(rand() * vocab.size);
    if (!vocab.special.has(id)) draw.push(id);
  }
  return [...(vocab.bos !== undefined ? [vocab.bos] : []), ...draw, ...draw];
}
