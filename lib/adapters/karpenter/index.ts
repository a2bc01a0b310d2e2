export * from './karpenterProvider.js';
