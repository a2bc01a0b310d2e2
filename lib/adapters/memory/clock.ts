import type { Clock } from '../../policy/ports.js';

/** A clock that only moves when told to: simulated time, or fixed time in tests. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  set(t: number): void {
    this.t = t;
  }
}

export const systemClock: Clock = { now: () => Date.now() / 1000 };
