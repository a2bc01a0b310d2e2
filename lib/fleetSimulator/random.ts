/**
 * Seeded pseudo-random numbers for the simulator and the synthetic traces. Everything random in
 * lib/sim draws from here, so a seed fully determines a run.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough for arrival processes (not for cryptography). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent stream for one purpose (arrivals, token sizes, delays), so that changing how one
 * quantity is drawn does not shift the numbers every other quantity sees.
 */
export function randomStream(seed: number, stream: number): Random {
  return mulberry32(mixSeed(seed, stream));
}

/** splitmix32-style mixing of (seed, stream) into a well-spread initial state */
function mixSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Exponential variate with the given mean; 1 - u keeps the logarithm finite. */
export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(1 - random());
}

/**
 * Geometric variate on {1, 2, ...} with the given mean (>= 1): the discrete counterpart of the
 * exponential, so token counts stay integers without rounding away part of the mean.
 */
export function geometric(random: Random, mean: number): number {
  if (mean <= 1) return 1;
  const p = 1 / mean;
  return 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - p));
}

/**
 * mulberry32 as an object whose whole state is one field, so that a forked simulation (see
 * fork.ts) continues the same sequence from the same point.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** independent stream for (seed, stream), same numbers as randomStream(seed, stream) */
  static stream(seed: number, stream: number): SeededRandom {
    const generator = new SeededRandom(0);
    generator.state = mixSeed(seed, stream);
    return generator;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
