export * from './replicaModel.js';
export * from './sizing.js';
export { budgetBoundReplica, type SaturatedStep } from './stepBudget.js';
export { solveChain, type ChainSolution } from './birthDeathChain.js';
