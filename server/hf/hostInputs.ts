/**
 * The small per-text graph inputs the host computes: ids, position ids, token types, rotary
 * tables and attention masks. A single unpadded sequence is run, so the encoders'
 * attention_mask is all ones and only causal and sliding-window masks restrict keys.
 */
import { UserError } from '../../common/errors';
import type { HfConfig } from './config';
import { MASKED } from './graphOps';
import { ropeTables } from './rope';

export interface HostTensor {
  type: 'int64' | 'float32';
  data: BigInt64Array | Float32Array;
  dims: number[];
}

export function positionIds(cfg: HfConfig, n: number): number[] {
  return Array.from({ length: n }, (_, t) => cfg.positionOffset + t);
}

/** Additive [T, T] mask: key j is visible from query i when j <= i and i - j < window (if any). */
export function causalBias(n: number, window: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (j > i || (window > 0 && i - j >= window)) m[i * n + j] = MASKED;
  }
  return m;
}

/** Computes the host input `name` for the token ids. */
export function hostInput(cfg: HfConfig, ids: number[], name: string, file: string): HostTensor {
  const n = ids.length;
  const ints = (v: number[]): HostTensor => ({ type: 'int64', data: BigInt64Array.from(v, (x) => BigInt(x)), dims: [n] });
  switch (name) {
    case 'input_ids': {
      const bad = ids.find((i) => !Number.isInteger(i) || i < 0 || i >= cfg.vocabSize);
      if (bad !== undefined) throw new UserError(`${file}: token id ${bad} is outside the vocabulary (vocab_size ${cfg.vocabSize}).`);
      return ints(ids);
    }
    case 'position_ids': {
      const pos = positionIds(cfg, n);
      if (pos[n - 1] >= cfg.maxPositions) {
        throw new UserError(`${file}: ${n} tokens exceed the ${cfg.maxPositions - cfg.positionOffset} positions this model has; lower maxTokens.`);
      }
      return ints(pos);
    }
    case 'token_type_ids':
      return ints(new Array(n).fill(0));
    case 'attention_mask':
      return ints(new Array(n).fill(1));
    case 'rope_cos':
    case 'rope_sin': {
      const t = ropeTables(cfg, positionIds(cfg, n));
      return { type: 'float32', data: name === 'rope_cos' ? t.cos : t.sin, dims: [n, cfg.headDim] };
    }
    default: {
      const m = /^attn_bias_causal(\d+)$/.exec(name);
      if (!m) throw new Error(`unknown host input ${name}`);
      return { type: 'float32', data: causalBias(n, Number(m[1])), dims: [n, n] };
    }
  }
}
