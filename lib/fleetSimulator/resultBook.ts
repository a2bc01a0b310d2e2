/**
 * What the fleet served, kept as streaming aggregates so that memory grows with the simulated
 * span, not with the requests: per variant, fixed-width bins of time (aligned at `origin`), each
 * with exact counts and quantile sketches (sketch.ts, 1% relative accuracy).
 *
 * Two binnings, because two questions are asked:
 * - by arrival: did the requests that arrived in [t, t + w) meet their targets? Counts are exact:
 *   each request is checked against its variant's targets when it completes, as the closed loop's
 *   per-request accounting does (a request that never completes, is dropped or rejected misses).
 * - by finish: how fast were the requests that finished in [t, t + w)? (a timeline's latencies)
 *
 * A bin that can no longer change (its span is over and, by arrival, none of its requests is
 * still in flight) is frozen, so that forks of the simulation share it instead of copying it.
 */
import { QuantileSketch } from './sketch.js';
import type { SimRequest } from './results.js';

export interface SloTargetsMs {
  /** 0 = no target */
  readonly ttftMs: number;
  readonly itlMs: number;
}

/** Distribution summary; every field but `count` is NaN when there are no values. */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function summaryOf(sketch: QuantileSketch): Summary {
  const empty = sketch.count === 0;
  return {
    count: sketch.count,
    mean: empty ? NaN : sketch.sum / sketch.count,
    p50: sketch.quantile(0.5),
    p90: sketch.quantile(0.9),
    p95: sketch.quantile(0.95),
    p99: sketch.quantile(0.99),
    max: empty ? NaN : sketch.max,
  };
}

/** Outcomes of the requests of one window (counts exact; latency quantiles within 1%). */
export interface WindowStats {
  readonly from: number;
  readonly to: number;
  /** by arrival: requests that arrived in the window; by finish: those that completed in it */
  readonly arrived: number;
  readonly completed: number;
  /** turned away because the variant queue was full */
  readonly dropped: number;
  /** could never be served (larger than the replica's KV cache or max model length) */
  readonly rejected: number;
  /** completed within the TTFT target (all completed when there is none) */
  readonly ttftMet: number;
  /** completed within the ITL target (one-token answers, and all without a target, count as met) */
  readonly itlMet: number;
  /** completed within both */
  readonly sloMet: number;
  /** latencies of the completed requests, from arrival at the variant (s) */
  readonly ttft: Summary;
  readonly itl: Summary;
}

export type WindowBy = 'arrival' | 'finish';

class Bin {
  arrived = 0;
  completed = 0;
  dropped = 0;
  rejected = 0;
  ttftMet = 0;
  itlMet = 0;
  sloMet = 0;
  readonly ttft = new QuantileSketch();
  readonly itl = new QuantileSketch();

  constructor(readonly index: number) {}

  get outstanding(): number {
    return this.arrived - this.completed - this.dropped - this.rejected;
  }
}

export class VariantBook {
  private readonly byArrival = new Map<number, Bin>();
  private readonly byFinish = new Map<number, Bin>();
  /** bins that may still change */
  private open: Bin[] = [];
  private readonly openFinish: Bin[] = [];
  /** over the whole run (bins keep TTFT and ITL only, to stay small) */
  readonly e2e = new QuantileSketch();
  readonly queueTime = new QuantileSketch();

  constructor(
    private readonly origin: number,
    private readonly width: number,
    private readonly targets: SloTargetsMs,
  ) {}

  arrived(request: SimRequest): void {
    this.bin(this.byArrival, request.arrival, this.open).arrived++;
  }

  dropped(request: SimRequest): void {
    this.bin(this.byArrival, request.arrival, this.open).dropped++;
  }

  rejected(request: SimRequest): void {
    this.bin(this.byArrival, request.arrival, this.open).rejected++;
  }

  completed(request: SimRequest): void {
    const { arrival, outputTokens } = request;
    const ttft = request.firstToken! - arrival;
    const e2e = request.finished! - arrival;
    const queueTime = request.scheduled! - arrival;
    const itl = outputTokens < 2 ? undefined : (request.finished! - request.firstToken!) / (outputTokens - 1);
    this.e2e.add(e2e);
    this.queueTime.add(queueTime);
    // in milliseconds, compared exactly as the closed loop's per-request accounting does
    const { ttftMs, itlMs } = this.targets;
    const ttftOk = ttftMs <= 0 || ttft * 1000 <= ttftMs;
    const itlOk = itlMs <= 0 || itl === undefined || itl * 1000 <= itlMs;
    for (const bin of [
      this.bin(this.byArrival, arrival, this.open),
      this.bin(this.byFinish, request.finished!, this.openFinish),
    ]) {
      bin.completed++;
      if (ttftOk) bin.ttftMet++;
      if (itlOk) bin.itlMet++;
      if (ttftOk && itlOk) bin.sloMet++;
      bin.ttft.add(ttft);
      if (itl !== undefined) bin.itl.add(itl);
    }
  }

  /** Freezes the bins that can no longer change (see the header). */
  close(now: number): void {
    const done = (bin: Bin) => this.origin + (bin.index + 1) * this.width <= now;
    this.open = this.open.filter((bin) => {
      if (!done(bin) || bin.outstanding > 0) return true;
      freezeBin(bin);
      return false;
    });
    let kept = 0;
    for (const bin of this.openFinish) {
      if (done(bin)) freezeBin(bin);
      else this.openFinish[kept++] = bin;
    }
    this.openFinish.length = kept;
  }

  /** Merges the bins whose span starts in [from, to) into `into`. */
  addTo(into: Bin, by: WindowBy, from: number, to: number): void {
    const bins = by === 'arrival' ? this.byArrival : this.byFinish;
    for (const bin of bins.values()) {
      const start = this.origin + bin.index * this.width;
      if (start < from - 1e-9 || start >= to - 1e-9) continue;
      into.arrived += bin.arrived;
      into.completed += bin.completed;
      into.dropped += bin.dropped;
      into.rejected += bin.rejected;
      into.ttftMet += bin.ttftMet;
      into.itlMet += bin.itlMet;
      into.sloMet += bin.sloMet;
      into.ttft.merge(bin.ttft);
      into.itl.merge(bin.itl);
    }
  }

  private bin(bins: Map<number, Bin>, time: number, open: Bin[]): Bin {
    const index = Math.floor((time - this.origin) / this.width);
    let bin = bins.get(index);
    if (bin === undefined) {
      bin = new Bin(index);
      bins.set(index, bin);
      open.push(bin);
    }
    return bin;
  }
}

/** Outcomes of the window [from, to) of the given books, bins counted by where their span starts. */
export function windowStats(
  books: readonly VariantBook[],
  by: WindowBy,
  from: number,
  to: number,
): WindowStats {
  const total = new Bin(0);
  for (const book of books) book.addTo(total, by, from, to);
  return {
    from,
    to,
    arrived: by === 'arrival' ? total.arrived : total.completed,
    completed: total.completed,
    dropped: total.dropped,
    rejected: total.rejected,
    ttftMet: total.ttftMet,
    itlMet: total.itlMet,
    sloMet: total.sloMet,
    ttft: summaryOf(total.ttft),
    itl: summaryOf(total.itl),
  };
}

function freezeBin(bin: Bin): void {
  // Shallow: a typed array with elements cannot be frozen, and need not be, as nothing writes
  // to a closed bin and fork() shares a frozen object without looking inside.
  Object.freeze(bin.ttft);
  Object.freeze(bin.itl);
  Object.freeze(bin);
}
