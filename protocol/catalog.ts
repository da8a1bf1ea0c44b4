/**
 * The catalog channel: what the runtime knows, served so that the panels, the CLI and the docs
 * read one list (server/variants/registry.ts, server/hf/family.ts) instead of copies.
 */
import { RequestType } from 'vscode-languageserver-protocol';

/** One attention variant of the catalog. */
export interface VariantCatalogEntry {
  /** Stable id (CLI, compare.json, estimate requests). */
  id: string;
  /** Short citation: "Vaswani et al. 2017, Attention Is All You Need". */
  paper: string;
  summary: string;
  /** True when it runs on a captured layer's Q, K, V (Compare); false for KV-head layouts (estimated only). */
  runnable: boolean;
  /** Computes exact softmax attention. */
  exact: boolean;
  /** Its map is a sparsity pattern whose kept mass is meaningful. */
  sparse: boolean;
  /** Default parameters of a run. */
  params: Record<string, number>;
  /** Earlier ids still accepted. */
  aliases: string[];
  /** The estimator's cost model: `io` counts HBM traffic as its paper does; `analytic` uses the variant's FLOPs and live memory. */
  cost: { name: string; model: 'io' | 'analytic'; source: string };
}

/** One Hugging Face model family the runtime can build. */
export interface FamilyCatalogEntry {
  /** config.json model_type. */
  modelType: string;
  /** The graph builder (server/hf/build<Builder>.ts). */
  builder: string;
  paper: string;
  /** config.json keys the builder reads. */
  configKeys: string[];
}

/** client -> server: every attention variant of the catalog, in catalog order. */
export namespace ListVariantsRequest {
  export const method = 'attention/listVariants';
  export type Params = Record<string, never> | null | undefined;
  export type Result = VariantCatalogEntry[];
  export const type = new RequestType<Params, Result, void>(method);
}

/** client -> server: every model family the runtime can run from a Hugging Face folder. */
export namespace ListFamiliesRequest {
  export const method = 'attention/listFamilies';
  export type Params = Record<string, never> | null | undefined;
  export type Result = FamilyCatalogEntry[];
  export const type = new RequestType<Params, Result, void>(method);
}
