/** moto and the autoscaler's AWS resources in it: see stack/moto.ts. */
export * from '../../../stack/moto.js';
