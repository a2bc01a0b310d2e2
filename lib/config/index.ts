export * from './errors.js';
export * from './schema.js';
export * from './load.js';
export { configToSystem, variantKey, type VariantLoads } from './toSystem.js';
export { infernoToSystem, parseInfernoSystem, isInfernoDocument } from './inferno.js';
