/**
 * Token representations for mechanisms that read the sequence itself rather than Q/K/V
 * (Mega's EMA and gates, MoA/SwitchHead routers, Lin et al.'s structured self-attention): the
 * hidden states entering the layer when the capture has them, else the layer's own per-token
 * vectors with all heads concatenated, which are a linear image of those hidden states.
 */
import { UserError } from '../../common/errors';
import type { QKV } from './graphParts';
import type { VariantInputs } from './types';

/** [h, rows, d] -> [rows, h·d] (heads side by side, as before the output projection). */
export function concatHeads(qkv: QKV, t: string, h: number, rows: number, d: number): string {
  const { g } = qkv;
  const tr = g.node('Transpose', [t], { attrs: { perm: [1, 0, 2] } });
  return g.node('Reshape', [tr, g.i64('shape', [rows, h * d])]);
}

/** [rows, h·d] -> [h, rows, d]. */
export function splitHeads(qkv: QKV, t: string, h: number, rows: number, d: number): string {
  const { g } = qkv;
  const r = g.node('Reshape', [t, g.i64('shape', [rows, h, d])]);
  return g.node('Transpose', [r], { attrs: { perm: [1, 0, 2] } });
}

export interface TokenStates {
  name: string;
  rows: number;
  dim: number;
  note: string;
}

/**
 * States of the query tokens (n rows) or of the key tokens (m rows). Hidden states describe the
 * n query tokens, so they stand for the keys only in self-attention (n = m).
 */
export function tokenStates(qkv: QKV, x: VariantInputs, side: 'query' | 'key'): TokenStates {
  const rows = side === 'query' ? x.n : x.m;
  if (x.hidden && (!x.dModel || x.hidden.length !== x.n * x.dModel)) {
    throw new UserError(`variant inputs: hidden states have ${x.hidden.length} values, expected n × dModel = ${x.n} × ${x.dModel ?? '?'}; pass dModel with the hidden states of the layer's queries`);
  }
  if (x.hidden && x.dModel && rows === x.n) {
    if (!qkv.feeds.hidden) {
      qkv.g.input('hidden', 'float32', [x.n, x.dModel]);
      qkv.feeds.hidden = { data: x.hidden, dims: [x.n, x.dModel] };
    }
    return { name: 'hidden', rows, dim: x.dModel, note: 'token states: the hidden states entering the layer' };
  }
  const src = side === 'query' ? qkv.q : qkv.v;
  return {
    name: concatHeads(qkv, src, x.heads, rows, x.d),
    rows,
    dim: x.heads * x.d,
    note: `token states: no hidden states captured, so the layer's ${side === 'query' ? 'queries' : 'values'} of all heads concatenated [${rows}, ${x.heads * x.d}] stand for them`,
  };
}
