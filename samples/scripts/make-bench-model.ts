/**
 * A GPT-2-small-shaped ONNX model for benchmarks: 12 layers x 12 heads, d_model 768, MLP 3072,
 * LayerNorm, tanh GELU, learned positions (4096 by default), Hugging Face eager attention
 * (Softmax(Where(causal, MatMul(Q, K^T) / 8, min))). Weights are seeded noise ~N(0, 0.02): the
 * cost of running and capturing does not depend on what the weights say. The vocabulary is
 * small (512) so the file stays ~340 MB instead of ~500 MB. Not committed; written to outDir
 * (e.g. under os.tmpdir()) and reused when a file with the same options is already there.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../../server/onnx/graphBuilder';

export interface BenchModelOptions {
  layers?: number;
  maxPositions?: number;
  vocab?: number;
  seed?: number;
  /** Also list every layer's probabilities [1, 12, n, n] as graph outputs. */
  exposeProbabilities?: boolean;
}

const D = 768;
const HEADS = 12;
const HEAD_DIM = D / HEADS;
const MLP = 3072;

/**
 * ~N(0, std) from xorshift32: the sum of four 16-bit uniforms (Irwin-Hall) rescaled to unit
 * variance. Close enough to normal for a benchmark, and about ten times faster than Box-Muller.
 */
class Noise {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  private next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.s = x >>> 0);
  }
  fill(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    const scale = (std * Math.sqrt(12 / 4)) / 65536; // Var(U[0,1)) = 1/12, four of them
    for (let i = 0; i < n; i++) {
      const a = this.next();
      const b = this.next();
      out[i] = ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) - 2 * 65536) * scale;
    }
    return out;
  }
}

function buildGraph(o: Required<BenchModelOptions>): Uint8Array {
  const g = new GraphBuilder('gpt2-small-shaped', 17);
  const noise = new Noise(o.seed);
  const w = (name: string, dims: number[]) => g.f32(name, dims, noise.fill(dims.reduce((a, b) => a * b, 1), 0.02));
  const fill = (name: string, n: number, v: number) => g.f32(name, [n], new Float32Array(n).fill(v));
  const c = (name: string, v: number) => g.scalar(name, v);

  const ids = g.input('input_ids', 'int64', [1, 'sequence']);
  const n = g.node('Gather', [g.node('Shape', [ids]), g.i64('seq_axis', [1], [])], { attrs: { axis: 0 } });
  const pos = g.node('Range', [g.i64('zero', [0], []), n, g.i64('one', [1], [])]);
  const col = g.node('Unsqueeze', [pos, g.i64('axis1', [1])]);
  const rowIdx = g.node('Unsqueeze', [pos, g.i64('axis0', [0])]);
  const causal = g.node('LessOrEqual', [rowIdx, col]); // [n, n], true where key <= query
  const minValue = c('mask_value', -3.4028234663852886e38);

  let x = g.node('Add', [
    g.node('Gather', [w('transformer.wte.weight', [o.vocab, D]), ids], { attrs: { axis: 0 } }),
    g.node('Gather', [w('transformer.wpe.weight', [o.maxPositions, D]), pos], { attrs: { axis: 0 } }),
  ]);
  const ln = (input: string, prefix: string) =>
    g.node('LayerNormalization', [input, fill(`${prefix}.weight`, D, 1), fill(`${prefix}.bias`, D, 0)], {
      attrs: { axis: -1, epsilon: 1e-5 },
    });
  const linear = (input: string, prefix: string, inDim: number, outDim: number) =>
    g.node('Add', [g.node('MatMul', [input, w(`${prefix}.weight`, [inDim, outDim])]), fill(`${prefix}.bias`, outDim, 0)]);
  const headShape = g.i64('head_shape', [0, 0, HEADS, HEAD_DIM]);
  const mergeShape = g.i64('merge_shape', [0, 0, D]);
  const probabilities: string[] = [];

  for (let l = 0; l < o.layers; l++) {
    const p = `transformer.h.${l}`;
    const qkv = linear(ln(x, `${p}.ln_1`), `${p}.attn.c_attn`, D, 3 * D);
    const [q, k, v] = g
      .nodeN('Split', [qkv, g.i64(`${p}.split`, [D, D, D])], { attrs: { axis: 2 }, outputs: 3 })
      .map((t) => g.node('Transpose', [g.node('Reshape', [t, headShape])], { attrs: { perm: [0, 2, 1, 3] } }));
    const kt = g.node('Transpose', [k], { attrs: { perm: [0, 1, 3, 2] } });
    const scores = g.node('Div', [g.node('MatMul', [q, kt]), c(`${p}.attn.scale`, Math.sqrt(HEAD_DIM))]);
    const probs = g.node('Softmax', [g.node('Where', [causal, scores, minValue])], { name: `/${p}/attn/Softmax`, attrs: { axis: -1 } });
    probabilities.push(probs);
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, v])], { attrs: { perm: [0, 2, 1, 3] } }), mergeShape]);
    x = g.node('Add', [x, linear(ctx, `${p}.attn.c_proj`, D, D)]);

    const h = linear(ln(x, `${p}.ln_2`), `${p}.mlp.c_fc`, D, MLP);
    // gelu_new, as GPT-2 writes it: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const cube = g.node('Mul', [g.node('Mul', [h, h]), h]);
    const inner = g.node('Mul', [g.node('Add', [h, g.node('Mul', [cube, c(`${p}.gelu.a`, 0.044715)])]), c(`${p}.gelu.b`, Math.sqrt(2 / Math.PI))]);
    const gelu = g.node('Mul', [g.node('Mul', [h, c(`${p}.gelu.half`, 0.5)]), g.node('Add', [g.node('Tanh', [inner]), c(`${p}.gelu.one`, 1)])]);
    x = g.node('Add', [x, linear(gelu, `${p}.mlp.c_proj`, MLP, D)]);
  }
  g.node('MatMul', [ln(x, 'transformer.ln_f'), w('lm_head.weight', [D, o.vocab])], { outputs: ['logits'] });
  g.output('logits', 'float32', [1, 'sequence', o.vocab]);
  if (o.exposeProbabilities) {
    for (const name of probabilities) g.output(name, 'float32', [1, HEADS, 'sequence', 'sequence']);
  }
  return g.toBytes('attention-inspector samples/scripts/make-bench-model.ts');
}

/** Writes the model (or finds it already written) and returns its path. */
export async function makeGpt2SmallShaped(outDir: string, opts: BenchModelOptions = {}): Promise<string> {
  const o: Required<BenchModelOptions> = {
    layers: opts.layers ?? 12,
    maxPositions: opts.maxPositions ?? 4096,
    vocab: opts.vocab ?? 512,
    seed: opts.seed ?? 1,
    exposeProbabilities: opts.exposeProbabilities ?? false,
  };
  const name = `gpt2-small-shaped-l${o.layers}-p${o.maxPositions}-v${o.vocab}-s${o.seed}${o.exposeProbabilities ? '-probs' : ''}.onnx`;
  const file = join(outDir, name);
  if (existsSync(file)) return file;
  mkdirSync(outDir, { recursive: true });
  // Written under a temporary name first, so an interrupted run never leaves a half file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, buildGraph(o));
  renameSync(partial, file);
  return file;
}
