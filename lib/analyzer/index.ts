export * from './replicaModel.js';
export * from './sizing.js';
export { solveChain, type ChainSolution } from './birthDeathChain.js';
