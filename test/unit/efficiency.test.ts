/**
 * The efficiency model against published figures and against counts written here from the
 * papers' own equations (not from server/efficiency/formulas.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { run as runEstimateCli } from '../../server/cli/estimate';
import { UserError } from '../../common/errors';
import { estimate } from '../../server/efficiency/estimate';
import { flashAttentionHbmElements, standardAttentionHbmElements } from '../../server/efficiency/formulas';
import { findHardware } from '../../server/efficiency/hardware';
import { localHardwareProfile } from '../../server/efficiency/localProbe';
import { measureVsEstimate } from '../../server/efficiency/measured';
import { defaultSeqs } from '../../server/efficiency/sweep';
import { loadModelShape, readModelShape } from '../../server/efficiency/modelShape';

const sample = (name: string) => join(__dirname, '../../samples/configs', name, 'config.json');
const KiB = 1024;

describe('efficiency: published figures', () => {
  it('Llama-2-7B caches 512 KiB per token in fp16 (2 x 32 layers x 32 heads x 128 x 2 B)', () => {
    const e = estimate(loadModelShape(sample('llama-2-7b')), { seq: 4096, dtype: 'fp16' });
    assert.equal(e.kvCacheBytesPerToken, 512 * KiB);
    assert.equal(e.kvCacheBytes, 4096 * 512 * KiB); // 2 GiB at the full 4,096-token context
  });

  it('Llama-3-8B caches 128 KiB per token in fp16 (8 KV heads)', () => {
    const e = estimate(loadModelShape(sample('llama-3-8b')), { seq: 8192, dtype: 'fp16' });
    assert.equal(e.kvCacheBytesPerToken, 128 * KiB);
    assert.equal(e.kvCacheBytes, 8192 * 128 * KiB);
    assert.equal(e.variants.mha.kvCacheBytesPerToken, 512 * KiB);
    assert.equal(e.variants.mqa.kvCacheBytesPerToken, 2 * 32 * 1 * 128 * 2);
  });

  it('one GPT-2-small layer at n = 1,024 spends 4·n²·d = 3.22 GFLOP on QKᵀ and AV', () => {
    const n = 1024;
    const d = 768;
    const e = estimate(loadModelShape(sample('gpt2')), { seq: n });
    assert.equal(e.attentionScoreFlopsPerLayer, 4 * n * n * d);
    assert.equal((e.attentionScoreFlopsPerLayer / 1e9).toFixed(2), '3.22');
    assert.equal(e.attentionScoreFlops.qkPerLayer, 2 * n * n * d);
    // Narayanan et al. 2021: a layer's attention block is 8·B·s·h² (QKV + output) + 4·B·s²·h.
    const b = e.flops.breakdown;
    assert.equal((b.projections + b.output) / 12, 8 * n * d * d);
    // Softmax counted at 5 operations per score, 12 heads of n x n.
    assert.equal(b.softmax / 12, 5 * 12 * n * n);
  });

  it("Mistral-7B's cache stops growing at its 4,096-token window", () => {
    const shape = loadModelShape(sample('mistral-7b-v0.1'));
    const perToken = 2 * 32 * 8 * 128 * 2;
    const at = (seq: number) => estimate(shape, { seq, dtype: 'bf16' }).kvCacheBytes;
    assert.equal(at(2048), 2048 * perToken);
    assert.equal(at(4096), 4096 * perToken);
    assert.equal(at(8192), 4096 * perToken);
    assert.equal(at(32768), 4096 * perToken);
    // A decode step past the window reads only the window's keys.
    const d1 = estimate(shape, { seq: 8192, decode: true, dtype: 'bf16' });
    const d2 = estimate(shape, { seq: 32768, decode: true, dtype: 'bf16' });
    assert.equal(d1.attentionScoreFlopsPerLayer, 4 * 4096 * 4096); // 4 · 1 query · 4096 keys · (32 x 128)
    assert.equal(d1.flops.total, d2.flops.total);
    // The same model without its window keeps growing.
    const full = estimate(shape, { seq: 8192, dtype: 'bf16', variants: ['mha'] });
    assert.ok(full.variants.mha.kvCacheBytes === 4096 * 2 * 32 * 32 * 128 * 2);
  });
});

describe('efficiency: FlashAttention IO (Dao et al. 2022, Theorem 2)', () => {
  /** Algorithm 1 walked block by block: the HBM reads and writes of its loops. */
  function algorithm1Accesses(N: number, d: number, M: number): number {
    const bc = Math.ceil(M / (4 * d));
    const br = Math.min(bc, d);
    let accesses = 0;
    for (let j = 0; j < N; j += bc) {
      const cols = Math.min(bc, N - j);
      accesses += 2 * cols * d; // line 6: load K_j, V_j
      for (let i = 0; i < N; i += br) {
        const rows = Math.min(br, N - i);
        accesses += 2 * rows * d + 2 * rows; // line 8: load Q_i, O_i, l_i, m_i
        accesses += rows * d + 2 * rows; // lines 12-13: write O_i, l_i, m_i
      }
    }
    return accesses;
  }

  it('matches Algorithm 1 exactly for an A100 SRAM of 192 KiB (fp16: M = 98,304 elements)', () => {
    const M = (192 * 1024) / 2;
    for (const [N, d] of [[1024, 64], [4096, 64], [4096, 128], [2000, 96]]) {
      assert.equal(flashAttentionHbmElements(N, N, d, M), algorithm1Accesses(N, d, M), `N=${N} d=${d}`);
    }
  });

  it('is Θ(N²d²/M): the ratio settles near 12 and halves when M doubles', () => {
    const d = 64;
    for (const M of [16384, 32768, 98304]) {
      const ratio = flashAttentionHbmElements(16384, 16384, d, M) / ((16384 * 16384 * d * d) / M);
      assert.ok(ratio > 11 && ratio < 13.5, `M=${M}: ratio ${ratio}`);
    }
    const N = 8192;
    const small = flashAttentionHbmElements(N, N, d, 32768);
    const big = flashAttentionHbmElements(N, N, d, 65536);
    assert.ok(Math.abs(small / big - 2) < 0.05, `ratio ${small / big}`);
    // Against standard attention's Θ(Nd + N²) (Algorithm 0): 4N² + 4Nd.
    assert.equal(standardAttentionHbmElements(N, N, d), 4 * N * N + 4 * N * d);
    assert.ok(flashAttentionHbmElements(N, N, d, 98304) < standardAttentionHbmElements(N, N, d) / 5);
  });

  it('keeps only O(N) softmax statistics instead of the N x N matrix', () => {
    const e = estimate(loadModelShape(sample('gpt2')), { seq: 1024, dtype: 'fp16', hardware: findHardware('a100-80gb') });
    assert.equal(e.attentionMatrixBytesPerLayer, 12 * 1024 * 1024 * 2);
    assert.equal(e.variants.flash.attentionMatrixBytesPerLayer, 12 * 2 * 1024 * 2);
    assert.equal(e.variants.flash.flops.total, e.flops.total);
    assert.ok(e.variants.flash.bytes.total < e.bytes.total);
  });
});

describe('efficiency: variants, roofline and hardware', () => {
  const llama3 = () => loadModelShape(sample('llama-3-8b'));

  it('roofline time is max(FLOPs / peak, bytes / bandwidth) summed over layers', () => {
    const hw = findHardware('h100-sxm');
    const e = estimate(llama3(), { seq: 4096, dtype: 'bf16', hardware: hw, variants: ['exact'] });
    const perLayer = Math.max(e.flops.perLayer / 989.4e12, e.bytes.perLayer / 3350e9);
    assert.ok(Math.abs(e.rooflineSeconds - 32 * perLayer) / e.rooflineSeconds < 1e-9);
    assert.equal(e.arithmeticIntensity, e.flops.total / e.bytes.total);
    // One decode step reads the whole cache for little arithmetic: memory bound.
    const dec = estimate(llama3(), { seq: 4096, decode: true, dtype: 'bf16', hardware: hw });
    assert.equal(dec.bound, 'memory');
    assert.ok(dec.arithmeticIntensity < 10);
  });

  it('sparse and linear variants scale below n² and the linear state does not grow', () => {
    const s = llama3();
    const at = (n: number) => estimate(s, { seq: n, dtype: 'bf16' }).variants;
    const a = at(4096);
    const b = at(16384);
    assert.ok(b.exact.attentionScoreFlopsPerLayer / a.exact.attentionScoreFlopsPerLayer === 16);
    assert.ok(b.linear.flops.total / a.linear.flops.total < 4.1);
    assert.ok(b.longformer.attentionScoreFlopsPerLayer / a.longformer.attentionScoreFlopsPerLayer === 4); // sliding window 512
    assert.ok(b.linformer.attentionScoreFlopsPerLayer / a.linformer.attentionScoreFlopsPerLayer === 4); // k = 256
    assert.equal(b.linear.kvCacheBytes, a.linear.kvCacheBytes);
    // Linformer with k = 256: QKᵀ over n x 256 pairs per head.
    assert.equal(a.linformer.attentionScoreFlops.qkPerLayer, 2 * 4096 * 256 * 32 * 128);
    // BigBird: (n − 128)·512 + 128·n pairs per head (Zaheer et al. 2020, blocks of 64).
    assert.equal(a.bigbird.attentionScoreFlops.qkPerLayer, 2 * ((4096 - 128) * 512 + 128 * 4096) * 32 * 128);
  });

  it('reads the key names of each family', () => {
    const gpt2 = loadModelShape(sample('gpt2'));
    assert.deepEqual([gpt2.layers, gpt2.heads, gpt2.kvHeads, gpt2.hiddenSize, gpt2.headDim, gpt2.maxPositions], [12, 12, 12, 768, 64, 1024]);
    const t5 = loadModelShape(sample('t5-base'));
    assert.deepEqual([t5.layers, t5.headDim], [12, 64]);
    assert.equal(loadModelShape(sample('falcon-7b')).kvHeads, 1);
    const gemma = loadModelShape(sample('gemma-2-9b'));
    assert.equal(gemma.headDim, 256);
    assert.deepEqual(gemma.layerWindows.slice(0, 4), [4096, null, 4096, null]);
    assert.equal(loadModelShape(sample('qwen2-7b')).slidingWindow, null);
    const mpt = readModelShape({ n_layers: 4, n_heads: 8, d_model: 512, max_seq_len: 2048 });
    assert.deepEqual([mpt.layers, mpt.heads, mpt.headDim, mpt.maxPositions], [4, 8, 64, 2048]);
    assert.throws(() => readModelShape({ hidden_size: 1000, num_attention_heads: 12, num_hidden_layers: 2 }, 'x/config.json'), (e: Error) => e instanceof UserError && /x\/config.json.*not divisible/.test(e.message));
    assert.throws(() => findHardware('tpu-v9'), (e: Error) => e instanceof UserError && /h100-sxm/.test(e.message));
  });

  it('measures the local machine once and reuses the cache', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'ai-probe-'));
    try {
      const first = await localHardwareProfile({ cacheDir: dir, size: 128 });
      assert.ok(first.peakFlops.fp32 > 1e8 && first.memoryBandwidth > 1e8);
      const cached = JSON.parse(readFileSync(join(dir, 'attention-inspector-hardware.json'), 'utf8'));
      assert.equal(cached.probe.matmulFlopsPerSecond, first.peakFlops.fp32);
      const again = await localHardwareProfile({ cacheDir: dir, size: 128 });
      assert.equal(again.probe.measuredAt, first.probe.measuredAt);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('efficiency: measured beside estimated', () => {
  it('runs the core with onnxruntime-node and sets it beside the roofline of the same core', async () => {
    const hw = { ...findHardware('epyc-9654'), peakFlops: { fp32: 1e11, fp16: 1e11, bf16: 1e11, fp8: 1e11, int8: 1e11 }, memoryBandwidth: 1e10 };
    const [p] = await measureVsEstimate(loadModelShape(sample('gpt2')), { seqs: [64], variants: ['exact'], hardware: hw, maxHeads: 2, repeats: 1 });
    const n = 64, h = 2, d = 64;
    const flops = 2 * (2 * n * n * h * d) + 5 * n * n * h;
    const bytes = h * (4 * n * d + 4 * n * n) * 4; // Q, K, V read, O written; S and P written and read; fp32
    assert.equal(p.flops, flops);
    assert.equal(p.bytes, bytes);
    assert.equal(p.estimatedMs, Math.max(flops / 1e11, bytes / 1e10) * 1e3);
    assert.ok(p.measuredMs > 0);
    assert.equal(p.ratio, p.measuredMs / p.estimatedMs);
    assert.equal(p.runtimeVariant, 'exact');
  });

  it('sweeps powers of two up to the configured context', () => {
    assert.deepEqual(defaultSeqs(1024), [128, 256, 512, 1024, 2048, 4096, 8192]);
    assert.deepEqual(defaultSeqs(32768).slice(-3), [8192, 16384, 32768]);
  });
});

describe('efficiency: CLI estimate', () => {
  async function cli(argv: string[]): Promise<{ code: number; out: string }> {
    const write = process.stdout.write.bind(process.stdout);
    let out = '';
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      return { code: await runEstimateCli(argv), out };
    } finally {
      process.stdout.write = write;
    }
  }

  it('prints the required fields for exact attention and each variant', async () => {
    const { code, out } = await cli(['--config', sample('llama-3-8b'), '--seq', '8192', '--dtype', 'fp16', '--batch', '2', '--hardware', 'a100-80gb']);
    assert.equal(code, 0);
    const j = JSON.parse(out);
    assert.equal(j.kvCacheBytesPerToken, 128 * KiB);
    assert.equal(j.kvCacheBytes, 2 * 8192 * 128 * KiB);
    assert.equal(j.attentionScoreFlopsPerLayer, 2 * 4 * 8192 * 8192 * 4096);
    assert.equal(j.attentionMatrixBytesPerLayer, 2 * 32 * 8192 * 8192 * 2);
    for (const k of ['total', 'perLayer']) assert.equal(typeof j.flops[k], 'number');
    assert.equal(typeof j.bytes.total, 'number');
    assert.ok(j.rooflineSeconds > 0);
    assert.equal(j.hardware.id, 'a100-80gb');
    for (const id of ['exact', 'flash', 'linear', 'linformer', 'reformer-lsh', 'longformer', 'bigbird', 'mha', 'gqa', 'mqa']) {
      assert.equal(typeof j.variants[id].rooflineSeconds, 'number', id);
    }
    assert.equal(j.variants.exact.kvCacheBytes, j.kvCacheBytes);
  });

  it('reads GPT-2 key names and refuses bad options with a one-line UserError', async () => {
    const { out } = await cli(['--config', sample('gpt2'), '--seq', '1024', '--decode']);
    assert.equal(JSON.parse(out).mode, 'decode');
    await assert.rejects(cli(['--config', sample('gpt2')]), (e: Error) => e instanceof UserError && /--seq is required/.test(e.message));
    await assert.rejects(cli(['--config', sample('gpt2'), '--seq', '8', '--dtype', 'fp64']), UserError);
    await assert.rejects(cli(['--config', '/no/such/config.json', '--seq', '8']), (e: Error) => e instanceof UserError && /\/no\/such/.test(e.message));
  });
});
