/**
 * Composes a family's pieces into ONNX models: the whole checkpoint as one graph with its
 * weights as initializers, or one stage (embeddings, one layer, head) with its weights as
 * graph inputs for layer-by-layer runs.
 */
import { join } from 'node:path';
import { type ExternalRef, GraphBuilder } from '../onnx/graphBuilder';
import { type ReferencedFiles, fileStamp } from '../onnx/weightReferences';
import { InitializerBinder, InputBinder, makeCtx, type WeightBinder, type WeightNeed } from './binder';
import type { WeightSource } from './checkpoint';
import type { HfConfig } from './config';
import type { Builder, FamilyGraph } from './family';
import { bertGraph } from './buildBert';
import { gpt2Graph } from './buildGpt2';
import { llamaGraph } from './buildLlama';

/** The graph builder of each name the family catalog (family.ts) uses. */
export const BUILDERS: Record<Builder, (cfg: HfConfig, has: (name: string) => boolean, folder: string) => FamilyGraph> = {
  gpt2: gpt2Graph,
  bert: bertGraph,
  llama: llamaGraph,
};

export function familyGraph(cfg: HfConfig, src: WeightSource, folder: string): FamilyGraph {
  return BUILDERS[cfg.family](cfg, (n) => src.has(n), folder);
}

export type Stage = { kind: 'embed' } | { kind: 'layer'; index: number } | { kind: 'head' };

export interface BuiltStage {
  bytes: Uint8Array;
  hostInputs: string[];
  needs: WeightNeed[];
}

function compose(g: GraphBuilder, b: WeightBinder, cfg: HfConfig, fam: FamilyGraph): string[] {
  const ctx = makeCtx(g, b, cfg.headDim);
  let x = fam.embed(ctx);
  for (let i = 0; i < cfg.layers; i++) {
    const out = fam.layer(ctx, i, x);
    g.node('Identity', [out.probs], { outputs: [`attn_${i}`] });
    g.output(`attn_${i}`, 'float32', [1, cfg.heads, 'T', 'T']);
    x = out.x;
  }
  g.node('Identity', [fam.head(ctx, x)], { outputs: ['logits'] });
  g.output('logits');
  return ctx.hostInputs;
}

/** The weights a full graph needs, found by building it once with weights as inputs. */
export function fullModelNeeds(cfg: HfConfig, fam: FamilyGraph, src: WeightSource): string[] {
  const probe = new InputBinder(new GraphBuilder('probe'), src);
  compose(new GraphBuilder('probe'), probe, cfg, fam);
  return [...new Set(probe.needs.map((n) => n.name))];
}

export interface BuiltModel {
  bytes: Uint8Array;
  hostInputs: string[];
  /** The checkpoint files the graph's float32 weights are read from, with their stamps when built. */
  referenced: ReferencedFiles;
}

/**
 * The whole model in one graph (outputs logits and attn_<i>). float32 weights stay in the
 * checkpoint: the graph names their bytes there and each session reads them when it is made
 * (server/onnx/weightReferences.ts says why), so the serialized graph is small; other dtypes are
 * read and converted here. Sessions need the folder as
 * `session.model_external_initializers_file_folder_path` (hfSessionOptions). Without `folder`
 * every weight is read into the graph.
 */
export async function buildFullModel(cfg: HfConfig, fam: FamilyGraph, src: WeightSource, folder?: string): Promise<BuiltModel> {
  const data = new Map<string, { shape: number[]; values?: Float32Array; ref?: ExternalRef }>();
  const files = new Set<string>();
  for (const name of fullModelNeeds(cfg, fam, src)) {
    // Without a folder every weight is read into the graph (tests' whole-graph references).
    const ref = folder !== undefined ? src.reference(name) : undefined;
    if (ref) files.add(ref.location);
    data.set(name, ref ? { shape: src.shape(name), ref } : { shape: src.shape(name), values: await src.read(name) });
  }
  const g = new GraphBuilder(`hf_${cfg.modelType}`);
  const hostInputs = compose(g, new InitializerBinder(g, data), cfg, fam);
  const referenced: ReferencedFiles = [...files].map((f) => join(folder ?? '', f)).map((f) => [f, fileStamp(f)]);
  return { bytes: g.toBytes(), hostInputs, referenced };
}

/** Session options for a built graph whose float32 weights are read from the checkpoint folder. */
export function hfSessionOptions(folder: string): { logSeverityLevel: 3; extra: { session: { model_external_initializers_file_folder_path: string } } } {
  return { logSeverityLevel: 3, extra: { session: { model_external_initializers_file_folder_path: folder } } };
}


/**
 * One stage with its weights as inputs. Stages take and give the hidden state as
 * hidden_in/hidden [T, hidden]; a layer also gives attn [1, heads, T, T].
 */
export function buildStage(cfg: HfConfig, fam: FamilyGraph, src: WeightSource, stage: Stage): BuiltStage {
  const g = new GraphBuilder(`hf_${cfg.modelType}_${stage.kind}`);
  const b = new InputBinder(g, src);
  const ctx = makeCtx(g, b, cfg.headDim);
  if (stage.kind === 'embed') {
    g.node('Identity', [fam.embed(ctx)], { outputs: ['hidden'] });
    g.output('hidden');
  } else {
    const x = g.input('hidden_in', 'float32', ['T', cfg.hidden]);
    if (stage.kind === 'layer') {
      const out = fam.layer(ctx, stage.index, x);
      g.node('Identity', [out.x], { outputs: ['hidden'] });
      g.node('Identity', [out.probs], { outputs: ['attn'] });
      g.output('hidden');
      g.output('attn');
    } else {
      g.node('Identity', [fam.head(ctx, x)], { outputs: ['logits'] });
      g.output('logits');
    }
  }
  return { bytes: g.toBytes(), hostInputs: ctx.hostInputs, needs: b.needs };
}
