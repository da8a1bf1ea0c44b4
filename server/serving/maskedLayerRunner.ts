/**
 * Policy-masked runs of Hugging Face checkpoints too big to build as one graph: embeddings,
 * each layer and the head run as separate sessions whose weights are graph inputs read from
 * the safetensors just before the stage runs (as server/hf/runner.ts's LayerRunner), each
 * layer's graph carrying the mask before its Softmax (maskSurgery.ts). Layers of one family
 * build the same graph and share one session.
 */
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { createSession, type ProviderSession } from '../capture/executionProvider';
import { UserError, firstLine } from '../../common/errors';
import type { WeightNeed } from '../hf/binder';
import { buildStage, type Stage } from '../hf/buildModel';
import type { WeightSource } from '../hf/checkpoint';
import type { HfConfig } from '../hf/config';
import type { FamilyGraph } from '../hf/family';
import { hostInput } from '../hf/hostInputs';
import { findAttention } from '../onnx/attentionFinder';
import { serializeModel } from '../onnx/surgery';
import { maskAttention, type MaskedGraph } from './maskSurgery';

interface StageGraph {
  bytes: Uint8Array;
  hostInputs: string[];
  needs: WeightNeed[];
  masked?: MaskedGraph;
}

export interface LayerOutputs {
  probs: Float32Array[];
  values: ({ data: Float32Array; dims: number[] } | undefined)[];
  logits: Float32Array;
  vocab: number;
}

export class MaskedLayerRunner {
  provider = '';
  private readonly graphs = new Map<string, StageGraph>();
  private readonly sessions = new Map<string, ProviderSession>();

  constructor(
    private readonly cfg: HfConfig,
    private readonly fam: FamilyGraph,
    private readonly src: WeightSource,
    private readonly folder: string,
    private setting: ExecutionProviderSetting,
    private readonly log?: (line: string) => void,
  ) {}

  private graph(s: Stage): StageGraph {
    const key = s.kind === 'layer' ? `layer${s.index}` : s.kind;
    let g = this.graphs.get(key);
    if (g) return g;
    const built = buildStage(this.cfg, this.fam, this.src, s);
    if (s.kind !== 'layer') g = built;
    else {
      const model = onnx.ModelProto.decode(built.bytes);
      const masked = maskAttention(model, findAttention(model, this.folder), this.folder);
      g = { ...built, bytes: serializeModel(masked.model), masked };
    }
    this.graphs.set(key, g);
    return g;
  }

  private async session(g: StageGraph): Promise<ort.InferenceSession> {
    const key = createHash('sha1').update(g.bytes).digest('hex');
    let ps = this.sessions.get(key);
    if (!ps) {
      try {
        ps = await createSession(g.bytes, this.setting, { logSeverityLevel: 3 }, this.log);
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`${this.folder}: onnxruntime cannot load a layer of the masked model: ${firstLine(e)}`);
      }
      if (!this.provider) {
        this.provider = ps.provider;
        this.setting = ps.provider as ExecutionProviderSetting;
      }
      this.sessions.set(key, ps);
    }
    return ps.session;
  }

  private async feeds(g: StageGraph, ids: number[]): Promise<Record<string, ort.Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of g.hostInputs) {
      const t = hostInput(this.cfg, ids, name, this.folder);
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    for (const need of g.needs) {
      const shape = this.src.shape(need.name);
      if (need.kind === 'rows') {
        // Only the rows of the text's tokens: a 128k-row embedding stays on disk.
        const index = feeds[need.index!].data as BigInt64Array;
        const width = shape.slice(1).reduce((a, b) => a * b, 1);
        const data = new Float32Array(index.length * width);
        for (let t = 0; t < index.length; t++) data.set(await this.src.readRows(need.name, Number(index[t]), Number(index[t]) + 1), t * width);
        feeds[need.input] = new ort.Tensor('float32', data, [index.length, ...shape.slice(1)]);
      } else {
        feeds[need.input] = new ort.Tensor('float32', await this.src.read(need.name), shape);
      }
    }
    return feeds;
  }

  private async runStage(s: Stage, ids: number[], extra: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    const g = this.graph(s);
    const session = await this.session(g);
    const feeds = { ...(await this.feeds(g, ids)), ...extra };
    try {
      return await session.run(feeds);
    } catch (e) {
      throw new UserError(`${this.folder}: onnxruntime failed to run ${s.kind} of the masked model: ${firstLine(e)}`);
    }
  }

  /** masks[i]: the additive mask of layer i, [heads, n, n]. */
  async run(ids: number[], masks: Float32Array[]): Promise<LayerOutputs> {
    const n = ids.length;
    let hidden = (await this.runStage({ kind: 'embed' }, ids, {})).hidden as ort.Tensor;
    const probs: Float32Array[] = [];
    const values: LayerOutputs['values'] = [];
    for (let i = 0; i < this.cfg.layers; i++) {
      const g = this.graph({ kind: 'layer', index: i });
      const m = g.masked!;
      const out = await this.runStage({ kind: 'layer', index: i }, ids, {
        hidden_in: hidden,
        [m.maskInputs[0]]: new ort.Tensor('float32', masks[i], [this.cfg.heads, n, n]),
      });
      hidden = out.hidden as ort.Tensor;
      probs.push(out[m.probs[0]].data as Float32Array);
      const v = m.values[0] ? (out[m.values[0]] as ort.Tensor) : undefined;
      values.push(v ? { data: v.data as Float32Array, dims: v.dims.map(Number) } : undefined);
    }
    const logits = (await this.runStage({ kind: 'head' }, ids, { hidden_in: hidden })).logits as ort.Tensor;
    return { probs, values, logits: logits.data as Float32Array, vocab: Number(logits.dims[logits.dims.length - 1]) };
  }

  async dispose(): Promise<void> {
    for (const ps of this.sessions.values()) await ps.session.release();
    this.sessions.clear();
  }
}
