/**
 * Diagnostics for inconsistent model configs, placed on the offending value: shapes that no
 * attention layer can have (hidden size not divisible by heads, heads not divisible by KV
 * heads), values that cannot be sizes, and settings that never take effect (a sliding window
 * wider than the longest context). JSON syntax errors are left to VS Code's JSON support.
 */
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { getNodeValue, type Node } from 'jsonc-parser';
import { parseDtype, KEY_ALIASES, type ShapeField } from '../efficiency/modelShape';
import { parseConfig, type ParsedConfig } from './configDocument';

const SOURCE = 'attention-inspector';
const SIZE_FIELDS: ShapeField[] = ['layers', 'hiddenSize', 'heads', 'kvHeads', 'headDim', 'maxPositions'];

function first(p: ParsedConfig, field: ShapeField): { key: string; node: Node; value: unknown } | undefined {
  for (const key of KEY_ALIASES[field]) {
    const prop = p.properties.get(key);
    const node = prop?.children?.[1];
    if (node && node.type !== 'null') return { key, node, value: node.value };
  }
  return undefined;
}

export function configDiagnostics(doc: TextDocument): Diagnostic[] {
  const p = parseConfig(doc);
  if (!p) return [];
  const out: Diagnostic[] = [];
  const add = (node: Node, severity: DiagnosticSeverity, message: string, code: string) =>
    out.push({ range: { start: doc.positionAt(node.offset), end: doc.positionAt(node.offset + node.length) }, severity, message, source: SOURCE, code });
  for (const s of p.skipped) {
    add({ offset: s.offset, length: Math.min(s.length, 1) } as Node, DiagnosticSeverity.Warning,
      `"${s.key}" is skipped: its value ${s.why}; hovers and estimates read the other keys.`, 'skipped-key');
  }

  const sizes: Partial<Record<ShapeField, { key: string; node: Node; n: number }>> = {};
  for (const field of SIZE_FIELDS) {
    const hit = first(p, field);
    if (!hit || typeof hit.value === 'boolean') continue; // multi_query: true is a valid KV-head setting
    if (typeof hit.value !== 'number' || !Number.isInteger(hit.value) || hit.value <= 0) {
      add(hit.node, DiagnosticSeverity.Error, `"${hit.key}" must be a positive integer.`, 'not-a-size');
      continue;
    }
    sizes[field] = { key: hit.key, node: hit.node, n: hit.value };
  }
  const { hiddenSize: hidden, heads, kvHeads: kv, headDim, maxPositions: maxPos } = sizes;
  if (hidden && heads && !headDim && hidden.n % heads.n !== 0) {
    add(heads.node, DiagnosticSeverity.Error,
      `${hidden.key} = ${hidden.n} is not divisible by ${heads.key} = ${heads.n}: the head dimension would be ${(hidden.n / heads.n).toFixed(2)}. Change one of them or set head_dim.`, 'hidden-not-divisible');
  }
  if (heads && kv && (kv.n > heads.n || heads.n % kv.n !== 0)) {
    add(kv.node, DiagnosticSeverity.Error,
      `${heads.key} = ${heads.n} is not a multiple of ${kv.key} = ${kv.n}: grouped-query attention needs every KV head to serve the same number of query heads.`, 'heads-not-divisible');
  }

  const win = first(p, 'slidingWindow');
  const slidingOn = p.value.use_sliding_window !== false;
  if (win && typeof win.value === 'number' && slidingOn) {
    if (!Number.isInteger(win.value) || win.value <= 0) {
      add(win.node, DiagnosticSeverity.Error, `"${win.key}" must be a positive integer or null.`, 'not-a-size');
    } else if (maxPos && win.value > maxPos.n) {
      add(win.node, DiagnosticSeverity.Warning,
        `${win.key} = ${win.value} is larger than ${maxPos.key} = ${maxPos.n}: the window never limits attention or the KV cache. Set it to at most ${maxPos.n}, or to null.`, 'window-above-context');
    }
  }

  const rope = p.properties.get('rope_scaling')?.children?.[1];
  if (rope?.type === 'object') {
    // The node's own value: rope_scaling may sit under text_config, not at the top.
    const r = getNodeValue(rope) as Record<string, unknown>;
    if (r.type === undefined && r.rope_type === undefined) {
      add(rope, DiagnosticSeverity.Warning, 'rope_scaling has no "rope_type" (or "type"): transformers cannot tell how to scale positions.', 'rope-no-type');
    }
    if (typeof r.factor === 'number' && r.factor <= 0) {
      add(rope, DiagnosticSeverity.Error, `rope_scaling factor ${r.factor} is not above 0: positions are divided by it, so every attention map would be NaN.`, 'rope-factor');
    } else if (typeof r.factor === 'number' && r.factor < 1) {
      add(rope, DiagnosticSeverity.Warning, `rope_scaling factor ${r.factor} is below 1: it shrinks the context instead of extending it.`, 'rope-factor');
    }
  }

  const theta = p.properties.get('rope_theta')?.children?.[1];
  if (theta?.type === 'number' && !(Number(theta.value) > 0)) {
    add(theta, DiagnosticSeverity.Error, `rope_theta ${theta.value} is not above 0: the rotary frequencies would be infinite and every attention map NaN.`, 'rope-theta');
  }

  const dt = first(p, 'dtype');
  if (dt && typeof dt.value === 'string' && parseDtype(dt.value) == null && dt.value !== 'auto') {
    add(dt.node, DiagnosticSeverity.Warning, `Unknown ${dt.key} "${dt.value}": use float32, float16 or bfloat16.`, 'dtype');
  }
  return out;
}
