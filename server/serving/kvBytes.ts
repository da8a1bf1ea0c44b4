/**
 * KV-cache bytes a budget saves, from the efficiency estimator (server/efficiency): the cache
 * after a prefill of n tokens against one of min(B, n) tokens, same model shape and dtype. The
 * shape comes from config.json when the model folder has one, else from the graph (layers,
 * heads and head size of the attention sites; K/V heads taken equal to query heads).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { estimate } from '../efficiency/estimate';
import { loadModelShape, readModelShape, type ModelShape } from '../efficiency/modelShape';

/** The model's shape for the estimator; undefined when neither config.json nor the graph tells the head size. */
export function servingShape(folder: string, layers: number, heads: number, headDim: number): ModelShape | undefined {
  if (existsSync(join(folder, 'config.json'))) {
    try {
      return loadModelShape(folder);
    } catch {
      // An export's folder may hold a config.json the estimator cannot read; the graph still tells.
    }
  }
  if (!(headDim > 0) || !(heads > 0)) return undefined;
  const shape = readModelShape({ model_type: 'onnx', num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: heads, hidden_size: heads * headDim, head_dim: headDim }, 'the graph');
  shape.notes.push('shape read from the graph: K/V heads taken equal to query heads, fp32 cache');
  return shape;
}

/** Whole-sequence cache of n tokens minus the cache a budget of B tokens per head holds. */
export function kvBytesSaved(shape: ModelShape, n: number, budget: number): number {
  const full = estimate(shape, { seq: n, variants: ['exact'] }).kvCacheBytes;
  const kept = estimate(shape, { seq: Math.min(budget, n), variants: ['exact'] }).kvCacheBytes;
  return full - kept;
}
