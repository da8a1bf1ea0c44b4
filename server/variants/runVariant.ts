/**
 * Runs a built variant with onnxruntime-node on the model's execution provider and measures it.
 * Peak memory is the process RSS delta over the run, sampled every few milliseconds while
 * session.run works on ORT's own threads, combined with the growth of the kernel's max-RSS
 * counter; the CPU arena is disabled so freed tensors leave RSS and the next run starts low.
 */
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { createSession } from '../capture/executionProvider';
import type { VariantInputs, VariantParams, VariantSpec } from './types';

export interface RunOptions {
  executionProvider?: ExecutionProviderSetting;
  /** Timed runs after one warm-up; latency is their median (default 1, no warm-up). */
  repeats?: number;
}

export interface VariantRun {
  output: Float32Array;
  map?: Float32Array;
  mapMeaning?: string;
  /** Dims of output and map (default [heads, n, d] and [heads, n, m]). */
  outputDims: number[];
  mapDims?: number[];
  /** Further outputs the variant declares (penalties, gates), with what they mean. */
  extras: Record<string, { data: Float32Array; dims: number[]; meaning: string }>;
  latencyMs: number;
  /** Peak RSS growth over the run in bytes (see peakMethod). */
  peakBytes: number;
  peakMethod: string;
  executionProvider: string;
  notes: string[];
}

function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export async function runVariant(
  spec: VariantSpec, inputs: VariantInputs, params: VariantParams = {}, options: RunOptions = {},
): Promise<VariantRun> {
  const merged = { ...spec.defaults, ...params };
  const built = spec.build(inputs, merged);
  // The capture engine's provider choice (auto = this build's GPU providers, else CPU, with notes).
  const ps = await createSession(built.model, options.executionProvider ?? 'cpu', {
    enableCpuMemArena: false,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const session = ps.session;
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(built.feeds)) {
      feeds[name] = new ort.Tensor(f.data instanceof Float32Array ? 'float32' : 'int64', f.data, f.dims);
    }
    const extraNames = Object.keys(built.extraOutputs ?? {});
    const fetches = [built.outputName, ...(built.mapName ? [built.mapName] : []), ...extraNames];
    const repeats = Math.max(1, options.repeats ?? 1);
    if (repeats > 1) await session.run(feeds, fetches);
    const times: number[] = [];
    let peak = 0;
    let result: ort.InferenceSession.OnnxValueMapType | undefined;
    for (let r = 0; r < repeats; r++) {
      result = undefined;
      global.gc?.();
      const base = process.memoryUsage().rss;
      const maxBefore = maxRssBytes();
      let sampled = base;
      const timer = setInterval(() => {
        sampled = Math.max(sampled, process.memoryUsage().rss);
      }, 2);
      const t0 = performance.now();
      try {
        result = await session.run(feeds, fetches);
      } finally {
        clearInterval(timer);
      }
      times.push(performance.now() - t0);
      sampled = Math.max(sampled, process.memoryUsage().rss);
      const maxAfter = maxRssBytes();
      const kernelPeak = maxAfter > maxBefore ? maxAfter - base : 0;
      peak = Math.max(peak, sampled - base, kernelPeak);
    }
    times.sort((a, b) => a - b);
    const out = result![built.outputName];
    const map = built.mapName ? result![built.mapName] : undefined;
    const extras: VariantRun['extras'] = {};
    for (const name of extraNames) {
      const t = result![name];
      extras[name] = { data: t.data as Float32Array, dims: t.dims.map(Number), meaning: built.extraOutputs![name] };
    }
    return {
      output: out.data as Float32Array,
      map: map ? (map.data as Float32Array) : undefined,
      mapMeaning: built.mapMeaning,
      outputDims: built.outputDims ?? out.dims.map(Number),
      mapDims: map ? (built.mapDims ?? map.dims.map(Number)) : undefined,
      extras,
      latencyMs: times[Math.floor(times.length / 2)],
      peakBytes: peak,
      peakMethod: 'RSS delta over session.run (2 ms sampling + max-RSS growth), CPU arena off',
      executionProvider: ps.provider,
      notes: [...built.notes, ...ps.notes],
    };
  } finally {
    await session.release();
  }
}
