/**
 * The estimator's view of the variant catalog (server/variants/registry.ts): each variant's cost
 * model lives with the variant (or, for KV-head layouts, in variants/kvLayouts.ts); ids and
 * aliases are the catalog's. Kept as a module so the estimator's imports read as before.
 */
export type { LayerCase, LayerCost, CostModel } from '../variants/costModel';
export type { VariantParams } from '../variants/types';
export { costedVariant, costedVariants, resolveVariantId, type CostedVariant } from '../variants/registry';
