export * from './errors.js';
export * from './schema.js';
export * from './load.js';
export {
  configToSystem,
  configCapacity,
  variantKey,
  type VariantLoads,
  type SystemOverrides,
} from './toSystem.js';
export { infernoToSystem, parseInfernoSystem, isInfernoDocument } from './inferno.js';
