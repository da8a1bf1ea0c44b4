/**
 * Value-weighted maps as a map kind every view reads (grid, head heatmap, statistics, rollout):
 * each weight α(q,k) times ‖f_h(x_k)‖, the norm of key k's value through the head's slice of the
 * output projection (Kobayashi et al. 2020), each query row then rescaled to sum to 1 so views
 * that read rows as distributions (entropy, distance, rollout) stay meaningful. The unnormalised
 * norms are what `attention-inspector internals` writes (value_norms.npy).
 */
import type { LayerMaps } from '../layerMaps';

export function valueWeightedLayer(m: LayerMaps, norms: Float32Array): LayerMaps {
  if (m.pool !== 1) throw new Error(`layer ${m.layer} was sent pooled (${m.pool}×); value-weighted maps need full-resolution maps`);
  if (norms.length !== m.heads * m.keys) throw new Error(`layer ${m.layer}: ${norms.length} value norms for ${m.heads} heads × ${m.keys} keys`);
  const data = new Float32Array(m.data.length);
  for (let h = 0; h < m.heads; h++) {
    for (let q = 0; q < m.rows; q++) {
      const r = (h * m.rows + q) * m.cols;
      let s = 0;
      for (let k = 0; k < m.cols; k++) s += data[r + k] = m.data[r + k] * norms[h * m.keys + k];
      if (s > 0) for (let k = 0; k < m.cols; k++) data[r + k] /= s;
    }
  }
  return { ...m, data };
}
