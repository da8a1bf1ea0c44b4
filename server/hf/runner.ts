/**
 * Running a built checkpoint. Whole mode: one session, one run, layers handed out afterwards.
 * Layer mode: embeddings, each layer and the head run as separate sessions whose weights are
 * graph inputs read from the safetensors by offset just before the run and dropped after it, so
 * the weights held at once are one stage's (the head's vocabulary matrix streams in row chunks).
 */
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ExecutionProviderSetting } from '../../protocol/runtime';
import { createSession, type ProviderSession } from '../capture/executionProvider';
import { DEFAULT_TOP_K, reductionFeeds } from '../capture/reductionFeeds';
import { reductionDecoration } from '../capture/reductions';
import { SegmentedGraph, type BlockOptions, type Boundaries, type SegmentVariant } from '../capture/segmentedGraph';
import { UserError, firstLine } from '../../common/errors';
import type { WeightNeed } from './binder';
import { changedFile, requireUnchanged } from '../onnx/weightReferences';
import { buildStage, hfSessionOptions, type BuiltModel, type BuiltStage, type Stage } from './buildModel';
import type { WeightSource } from './checkpoint';
import type { HfConfig } from './config';
import type { FamilyGraph } from './family';
import { hostInput } from './hostInputs';

export interface RunHooks {
  /** probs: absent when maps are 'none'; extra: the graph's reductions (segmented runs). */
  onLayer(index: number, probs: Float32Array | undefined, dims: number[], extra?: Record<string, ort.Tensor>): Promise<void>;
  isCancelled(): boolean;
  /** 'none': a segmented run returns reductions only (layer mode still returns maps). */
  maps?: 'full' | 'none';
  /** The reductions' feeds for layer k (top-k, pool factor). */
  extraFeeds?: (k: number) => Record<string, ort.Tensor>;
  /** Layers run by query blocks (segmented runs; server/capture/blockedLayers.ts). */
  blocks?: BlockOptions;
}

export interface RunOutput {
  logits?: Float32Array;
  logitsDims: number[];
  cancelled: boolean;
  /** Most weight bytes (as float32) held at one time by this run's feeds. */
  peakWeightBytes: number;
  /** Recomputes one layer's probabilities from this run's kept boundaries (segmented runs). */
  recompute?: (layer: number) => Promise<{ data: Float32Array; dims: number[] }>;
  /** The boundaries this run kept (segmented runs): tiles recompute a layer's rows from them. */
  boundaries?: Boundaries;
}

export interface Runner {
  provider: string;
  notes: string[];
  run(ids: number[], hooks: RunHooks): Promise<RunOutput>;
  dispose(): Promise<void>;
  /** The segments a whole-graph runner runs (tests count their runs). */
  segments?: SegmentedGraph;
  /** Whether a safetensors file the runner's sessions read weights from changed since it was built. */
  changed?(): boolean;
}

const size = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(0)} MB` : `${(b / 1e3).toFixed(1)} kB`);

async function guarded<T>(folder: string, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${folder}: onnxruntime failed to ${what}: ${firstLine(e)}`);
  }
}

function hostFeeds(cfg: HfConfig, ids: number[], names: string[], folder: string): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const n of names) {
    const t = hostInput(cfg, ids, n, folder);
    feeds[n] = new ort.Tensor(t.type, t.data, t.dims);
  }
  return feeds;
}

function loadSession(bytes: Uint8Array, folder: string, setting: ExecutionProviderSetting, log?: (line: string) => void): Promise<ProviderSession> {
  // The folder: a whole graph's float32 weights are read from its safetensors files in place.
  return guarded(folder, 'load the built graph', () => createSession(bytes, setting, hfSessionOptions(folder), log));
}

/**
 * The whole built graph, run as one segment per layer (server/capture/segmentedGraph.ts): each
 * layer computed once, its map handed out when its segment ends, boundaries kept so a layer can
 * be recomputed. The serialized graph stays referenced for sessions made later (other variants).
 */
export async function wholeRunner(
  cfg: HfConfig,
  built: BuiltModel,
  folder: string,
  setting: ExecutionProviderSetting,
  log?: (line: string) => void,
): Promise<Runner> {
  const { bytes, hostInputs } = built;
  const source = () => {
    // Sessions made now read the float32 weights from the checkpoint as it was when built.
    requireUnchanged(built.referenced);
    return onnx.ModelProto.decode(bytes);
  };
  let provider: string | undefined;
  let notes: string[] = [];
  const open = async (segment: Uint8Array): Promise<ort.InferenceSession> => {
    const ps = await loadSession(segment, folder, (provider as ExecutionProviderSetting | undefined) ?? setting, log);
    if (!provider) {
      provider = ps.provider;
      notes = ps.notes;
    }
    return ps.session;
  };
  const sites = Array.from({ length: cfg.layers }, (_, i) => `attn_${i}`);
  const decorate = (probs: string, k: number, variant: SegmentVariant, opset: number, producer?: onnx.INodeProto) =>
    reductionDecoration(probs, k, opset, { pooled: variant === 'reduced' }, producer);
  const graph = new SegmentedGraph(source(), { source, sites, open, decorate });
  const probeFeeds = () => reductionFeeds(DEFAULT_TOP_K, 1);
  // One-token probe: makes every segment's session now, as opening a whole model always did.
  await guarded(folder, 'run the model', () => graph.prepare('maps', hostFeeds(cfg, [0], hostInputs, folder), probeFeeds));
  graph.resetCounts();
  return {
    get provider() {
      return provider ?? setting;
    },
    get notes() {
      return notes;
    },
    segments: graph,
    async run(ids, hooks) {
      const run = await guarded(folder, 'run the model', () =>
        graph.runAll(
          hostFeeds(cfg, ids, hostInputs, folder),
          hooks.maps === 'none' ? 'reduced' : 'maps',
          async (out) =>
            hooks.onLayer(
              out.site,
              out.probs?.data as Float32Array | undefined,
              out.probs ? out.probs.dims.map(Number) : Array.from(out.extra.dims.data as BigInt64Array, Number),
              out.extra,
            ),
          () => hooks.isCancelled(),
          hooks.extraFeeds ?? probeFeeds,
          hooks.blocks,
        ),
      );
      const recompute = async (layer: number) => {
        const out = await guarded(folder, 'run the model', () => graph.rerun(layer, run.boundaries, 'maps', hooks.extraFeeds ?? probeFeeds));
        return { data: out.probs!.data as Float32Array, dims: out.probs!.dims.map(Number) };
      };
      if (run.cancelled) return { logitsDims: [], cancelled: true, peakWeightBytes: 0 };
      const logits = run.outputs.logits;
      return { logits: logits.data as Float32Array, logitsDims: logits.dims.map(Number), cancelled: false, peakWeightBytes: 0, recompute, boundaries: run.boundaries };
    },
    changed: () => changedFile(built.referenced) !== undefined,
    dispose: () => graph.release(),
  };
}

export class LayerRunner implements Runner {
  provider = '';
  notes: string[] = [];
  private readonly stages = new Map<string, BuiltStage>();
  private readonly sessions = new Map<string, ProviderSession>();
  private warned = false;

  constructor(
    private readonly cfg: HfConfig,
    private readonly fam: FamilyGraph,
    private readonly src: WeightSource,
    private readonly folder: string,
    private readonly budgetBytes: number,
    private setting: ExecutionProviderSetting,
    private readonly log?: (line: string) => void,
  ) {}

  private stage(s: Stage): BuiltStage {
    const key = s.kind === 'layer' ? `layer${s.index}` : s.kind;
    let built = this.stages.get(key);
    if (!built) this.stages.set(key, (built = buildStage(this.cfg, this.fam, this.src, s)));
    return built;
  }

  /** Layers of one family build identical graphs; they share a session. */
  private async session(built: BuiltStage): Promise<ort.InferenceSession> {
    const key = createHash('sha1').update(built.bytes).digest('hex');
    let ps = this.sessions.get(key);
    if (!ps) {
      ps = await loadSession(built.bytes, this.folder, this.setting, this.log);
      if (!this.provider) {
        // Later stages go straight to the provider the first one settled on.
        this.provider = ps.provider;
        this.notes = ps.notes;
        this.setting = ps.provider as ExecutionProviderSetting;
      }
      this.sessions.set(key, ps);
    }
    return ps.session;
  }

  private async weightFeeds(needs: WeightNeed[], host: Record<string, ort.Tensor>): Promise<{ feeds: Record<string, ort.Tensor>; bytes: number }> {
    const feeds: Record<string, ort.Tensor> = {};
    let bytes = 0;
    for (const need of needs) {
      const shape = this.src.shape(need.name);
      let data: Float32Array;
      let dims: number[];
      if (need.kind === 'rows') {
        // Only the rows of the tokens in the text are read: a 128k x 4096 table stays on disk.
        const index = host[need.index!].data as BigInt64Array;
        const width = shape.slice(1).reduce((a, b) => a * b, 1);
        data = new Float32Array(index.length * width);
        for (let t = 0; t < index.length; t++) {
          const r = Number(index[t]);
          if (r >= shape[0]) throw new UserError(`${this.src.fileOf(need.name)}: index ${r} is outside "${need.name}" (${shape[0]} rows).`);
          data.set(await this.src.readRows(need.name, r, r + 1), t * width);
        }
        dims = [index.length, ...shape.slice(1)];
      } else {
        data = await this.src.read(need.name);
        dims = shape;
      }
      bytes += data.byteLength;
      feeds[need.input] = new ort.Tensor('float32', data, dims);
    }
    return { feeds, bytes };
  }

  async run(ids: number[], hooks: RunHooks): Promise<RunOutput> {
    const { cfg, folder } = this;
    let peak = 0;
    const runStage = async (s: Stage, extra: Record<string, ort.Tensor>, needs?: WeightNeed[]) => {
      const built = this.stage(s);
      const session = await this.session(built);
      const host = hostFeeds(cfg, ids, built.hostInputs, folder);
      const w = await this.weightFeeds(needs ?? built.needs, host);
      peak = Math.max(peak, w.bytes);
      if (w.bytes > this.budgetBytes && !this.warned) {
        this.warned = true;
        this.log?.(`${folder}: one ${s.kind} needs ${size(w.bytes)} of weights, above the ${size(this.budgetBytes)} budget`);
      }
      return guarded(folder, `run stage ${s.kind}`, () => session.run({ ...host, ...extra, ...w.feeds }));
    };
    let hidden = (await runStage({ kind: 'embed' }, {})).hidden as ort.Tensor;
    for (let i = 0; i < cfg.layers; i++) {
      if (hooks.isCancelled()) return { logitsDims: [], cancelled: true, peakWeightBytes: peak };
      const out = await runStage({ kind: 'layer', index: i }, { hidden_in: hidden });
      hidden = out.hidden as ort.Tensor;
      const attn = out.attn as ort.Tensor;
      await hooks.onLayer(i, attn.data as Float32Array, attn.dims.map(Number));
    }
    if (hooks.isCancelled()) return { logitsDims: [], cancelled: true, peakWeightBytes: peak };
    const head = await this.runHead(hidden, runStage, (b) => (peak = Math.max(peak, b)));
    return { ...head, cancelled: false, peakWeightBytes: peak };
  }

  /** The head in row chunks of the vocabulary matrix, sized to the memory budget. */
  private async runHead(
    hidden: ort.Tensor,
    runStage: (s: Stage, extra: Record<string, ort.Tensor>, needs?: WeightNeed[]) => Promise<ort.InferenceSession.OnnxValueMapType>,
    notePeak: (bytes: number) => void,
  ): Promise<{ logits: Float32Array; logitsDims: number[] }> {
    const built = this.stage({ kind: 'head' });
    const vocab = built.needs.filter((n) => n.kind === 'vocab');
    if (vocab.length === 0) {
      const t = (await runStage({ kind: 'head' }, { hidden_in: hidden })).logits as ort.Tensor;
      return { logits: t.data as Float32Array, logitsDims: t.dims.map(Number) };
    }
    const rows = this.src.shape(vocab[0].name)[0];
    const wholeBytes = built.needs
      .filter((n) => n.kind === 'whole')
      .reduce((a, n) => a + this.src.shape(n.name).reduce((x, y) => x * y, 4), 0);
    const rowBytes = vocab.reduce((a, n) => a + this.src.shape(n.name).slice(1).reduce((x, y) => x * y, 4), 0);
    const chunk = Math.max(1, Math.min(rows, Math.floor((this.budgetBytes - wholeBytes) / rowBytes)));
    const T = hidden.dims[0] as number;
    const logits = new Float32Array(T * rows);
    const others = built.needs.filter((n) => n.kind !== 'vocab');
    const whole = await this.weightFeeds(others, {});
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r1 = Math.min(rows, r0 + chunk);
      const feeds: Record<string, ort.Tensor> = { hidden_in: hidden, ...whole.feeds };
      let bytes = whole.bytes;
      for (const n of vocab) {
        const data = await this.src.readRows(n.name, r0, r1);
        bytes += data.byteLength;
        feeds[n.input] = new ort.Tensor('float32', data, [r1 - r0, ...this.src.shape(n.name).slice(1)]);
      }
      notePeak(bytes);
      const part = (await runStage({ kind: 'head' }, feeds, [])).logits as ort.Tensor;
      const pd = part.data as Float32Array;
      for (let t = 0; t < T; t++) logits.set(pd.subarray(t * (r1 - r0), (t + 1) * (r1 - r0)), t * rows + r0);
    }
    return { logits, logitsDims: [T, rows] };
  }

  async dispose(): Promise<void> {
    for (const ps of this.sessions.values()) await ps.session.release();
    this.sessions.clear();
  }
}
