/**
 * Hover tooltips on the attention keys of a model config: one line about the key under the
 * cursor, then the derived figures at the configured context (head dim, KV cache per token and
 * at full context, attention-score FLOPs, attention-matrix memory with and without
 * FlashAttention, roofline time). Figures come from estimate(), the same code as the CLI.
 */
import type { Hover } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { estimate, MAX_SEQ } from '../efficiency/estimate';
import { formatBytes, formatCount, formatFlops, formatSeconds } from '../../common/format';
import { DTYPE_BYTES, kvCacheBytesPerToken, type Dtype } from '../efficiency/formulas';
import { DEFAULT_HARDWARE_ID, findHardware } from '../efficiency/hardware';
import { KEY_ALIASES, type ModelShape, type ShapeField } from '../efficiency/modelShape';
import { UserError } from '../../common/errors';
import { FAMILIES, familyKeys, findFamily, scalarText } from '../hf/family';
import { keyAtOffset, parseConfig } from './configDocument';
import { resolveDtype, type DtypeSetting } from '../efficiency/dtypeChoice';

/** Context used when a config names no max positions. */
export const FALLBACK_CONTEXT = 2048;

const HOVER_FIELDS: ShapeField[] = ['layers', 'hiddenSize', 'heads', 'kvHeads', 'headDim', 'maxPositions', 'slidingWindow', 'dtype', 'ropeScaling'];

function fieldOf(key: string): ShapeField | undefined {
  return HOVER_FIELDS.find((f) => KEY_ALIASES[f].includes(key)) ?? (key === 'use_sliding_window' || key === 'max_window_layers' ? 'slidingWindow' : undefined);
}

const bytesText = (b: number) => `${formatBytes(b)} (${formatCount(b)} B)`;

function keyLine(field: ShapeField, key: string, s: ModelShape, ctx: number, dtype: Dtype): string {
  const perToken = kvCacheBytesPerToken(s.layers, s.kvHeads, s.headDim, DTYPE_BYTES[dtype]);
  switch (field) {
    case 'kvHeads': {
      const mha = kvCacheBytesPerToken(s.layers, s.heads, s.headDim, DTYPE_BYTES[dtype]);
      const kind = s.kvHeads === s.heads ? 'multi-head attention: one KV head per query head' : s.kvHeads === 1 ? 'multi-query attention: all query heads share one KV head (Shazeer 2019)' : `grouped-query attention: ${s.heads} query heads in ${s.kvHeads} groups of ${s.heads / s.kvHeads} (Ainslie et al. 2023)`;
      const cmp = s.kvHeads === s.heads ? '' : ` With one KV head per query head (MHA) it would be ${formatBytes(mha)}.`;
      return `**${key} = ${s.kvHeads}**: ${kind}. KV cache per token: ${bytesText(perToken)} = 2 × ${s.layers} layers × ${s.kvHeads} KV heads × ${s.headDim} head dim × ${DTYPE_BYTES[dtype]} B.${cmp}`;
    }
    case 'heads':
      return `**${key} = ${s.heads}**: ${s.heads} query heads of dimension ${s.headDim}; ${s.kvHeads} KV heads.`;
    case 'hiddenSize':
      return s.heads * s.headDim === s.hiddenSize
        ? `**${key} = ${s.hiddenSize}** = ${s.heads} heads × ${s.headDim} head dim.`
        : `**${key} = ${s.hiddenSize}**: the projections map it to ${s.heads} heads × ${s.headDim} = ${s.heads * s.headDim} (head_dim is set explicitly).`;
    case 'headDim':
      return `**${key} = ${s.headDim}**${s.heads * s.headDim !== s.hiddenSize ? ` (not hidden_size / heads = ${Number((s.hiddenSize / s.heads).toFixed(2))}: the attention width is ${s.heads * s.headDim})` : ''}.`;
    case 'layers':
      return `**${key} = ${s.layers}** attention layers; each adds ${bytesText(perToken / s.layers)} of KV cache per token.`;
    case 'maxPositions':
      return `**${key} = ${formatCount(ctx)}**: the figures below are at this full context.`;
    case 'slidingWindow': {
      const sliding = s.layerWindows.filter((w) => w != null).length;
      if (s.slidingWindow == null) return `**${key}**: not in effect (use_sliding_window is false or no window is set): every layer caches the whole context.`;
      const full = perToken * ctx;
      return `**sliding window = ${formatCount(s.slidingWindow)}** on ${sliding} of ${s.layers} layers: those keep only the last ${formatCount(s.slidingWindow)} tokens, so their cache stops growing there (Beltagy et al. 2020; Jiang et al. 2023). Without the window the cache at ${formatCount(ctx)} tokens would be ${formatBytes(full)}.`;
    }
    case 'dtype':
      return `**${key}**: ${dtype}, ${DTYPE_BYTES[dtype]} B per element. KV cache per token: ${formatBytes(kvCacheBytesPerToken(s.layers, s.kvHeads, s.headDim, 2))} in fp16/bf16, ${formatBytes(kvCacheBytesPerToken(s.layers, s.kvHeads, s.headDim, 4))} in fp32.`;
    case 'ropeScaling': {
      const r = s.ropeScaling;
      if (!r) return `**${key}**: none; positions beyond the trained ${formatCount(ctx)} are extrapolated.`;
      const orig = r.originalMaxPositions;
      const stretched = orig ? ` Trained at ${formatCount(orig)} positions (original_max_position_embeddings); the figures below use max_position_embeddings = ${formatCount(ctx)}.` : '';
      return `**${key}**: ${r.type}${r.factor ? `, factor ${r.factor}` : ''}.${stretched}`;
    }
    default:
      return `**${key}**`;
  }
}

export function hoverMarkdown(field: ShapeField, key: string, s: ModelShape, setting: DtypeSetting = 'config'): string {
  const ctx = s.maxPositions ?? FALLBACK_CONTEXT;
  if (ctx > MAX_SEQ) {
    throw new UserError(`${s.keys.maxPositions ?? 'max positions'} = ${ctx} is past any context the estimator covers (${MAX_SEQ.toExponential()} tokens); fix the value.`);
  }
  const dtype: Dtype = resolveDtype(setting, s.dtype);
  const hw = findHardware(DEFAULT_HARDWARE_ID);
  const e = estimate(s, { seq: ctx, dtype, hardware: hw, variants: ['exact', 'flash'] });
  const flash = e.variants.flash;
  const ctxText = `${formatCount(ctx)} tokens${s.maxPositions == null ? ` (no max positions key; ${FALLBACK_CONTEXT} assumed)` : ''}`;
  const why = setting !== 'config' ? ' (attentionInspector.estimateDtype)' : s.dtype == null ? ' (no torch_dtype; fp32 assumed, as transformers loads it)' : ' (torch_dtype)';
  const dtypeText = `${dtype}${why}`;
  const rows: [string, string][] = [
    ['head dim', String(s.headDim)],
    ['query / KV heads', `${s.heads} / ${s.kvHeads}`],
    ['KV cache per token', bytesText(e.kvCacheBytesPerToken)],
    [`KV cache at ${formatCount(ctx)} tokens`, bytesText(e.kvCacheBytes)],
    ['attention-score FLOPs per layer (QKᵀ + AV)', formatFlops(e.attentionScoreFlopsPerLayer)],
    ['attention FLOPs, all layers (projections, scores, softmax, output)', formatFlops(e.flops.total)],
    ['attention matrix per layer, standard', formatBytes(e.attentionMatrixBytesPerLayer)],
    ['attention matrix per layer, FlashAttention', `${formatBytes(flash.attentionMatrixBytesPerLayer)} (softmax statistics only)`],
    [`prefill roofline on ${hw.name}`, `${formatSeconds(e.rooflineSeconds)} standard, ${formatSeconds(flash.rooflineSeconds)} FlashAttention`],
  ];
  return [
    keyLine(field, key, s, ctx, dtype),
    '',
    `At ${ctxText}, batch 1, ${dtypeText}:`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([a, b]) => `| ${a} | ${b} |`),
    '',
    '_Attention Inspector: formulas and papers in docs/efficiency.md; `attention-inspector estimate` for other lengths and hardware._',
  ].join('\n');
}

/** model_type: whether the runtime builds this family (the family catalog, hf/family.ts) and with which builder. */
export function modelTypeLine(value: unknown): string {
  const type = scalarText(value);
  const family = findFamily(type);
  if (!family) {
    return `**model_type = ${JSON.stringify(type)}**: cost estimates only; the runtime builds ${FAMILIES.map((f) => f.modelType).join(', ')} from a checkpoint (or open an ONNX export).`;
  }
  return `**model_type = ${type}** (${family.paper}): the runtime builds it with the ${family.builder} graph builder, reading ${familyKeys(family).length} config keys.`;
}

export function configHover(doc: TextDocument, offset: number, setting: DtypeSetting = 'config'): Hover | null {
  const parsed = parseConfig(doc);
  if (!parsed) return null;
  const hit = keyAtOffset(parsed, offset);
  if (!hit) return null;
  const keyNode0 = hit.property.children![0];
  const skipped = parsed.skipped.find((s) => s.key === hit.key && s.offset >= keyNode0.offset && s.offset <= hit.property.offset + hit.property.length);
  if (skipped) {
    const range = { start: doc.positionAt(keyNode0.offset), end: doc.positionAt(keyNode0.offset + keyNode0.length) };
    return { contents: { kind: 'markdown', value: `**Attention Inspector**: \`${hit.key}\` is skipped: its value ${skipped.why}; the other keys are read without it.` }, range };
  }
  const keyNode = hit.property.children![0];
  const range = { start: doc.positionAt(keyNode.offset), end: doc.positionAt(keyNode.offset + keyNode.length) };
  if (hit.key === 'model_type') return { contents: { kind: 'markdown', value: modelTypeLine(hit.property.children?.[1]?.value) }, range };
  const field = fieldOf(hit.key);
  if (!field) return null;
  if (!parsed.shape) {
    return { contents: { kind: 'markdown', value: `**Attention Inspector**: cannot derive figures: ${parsed.shapeError}` }, range };
  }
  let value: string;
  try {
    value = hoverMarkdown(field, hit.key, parsed.shape, setting);
  } catch (e) {
    // A shape the estimator refuses (a context past its bound) is a line in the hover, not a failed hover.
    if (!(e instanceof UserError)) throw e;
    value = `**Attention Inspector**: cannot derive figures: ${e.message}`;
  }
  return { contents: { kind: 'markdown', value }, range };
}
