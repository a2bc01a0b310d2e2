/**
 * A quantile sketch with a guaranteed relative accuracy: DDSketch's logarithmic mapping (Masson,
 * Rim & Lee, VLDB 2019). A value v > 0 falls in bucket i = ceil(log_gamma v), which spans
 * (gamma^(i-1), gamma^i]; reporting 2 gamma^i / (gamma + 1) for it is within ALPHA of every value
 * in it, so any quantile is within ALPHA (relative) of the true order statistic. Memory grows with
 * the log of the value range (about 350 buckets, 4 bytes each, per three decades at 1%), not with
 * the count.
 *
 * Written here rather than taken from a package because the simulator forks (fork.ts): the state
 * is plain fields and one typed array, copied or shared (frozen) like the rest of the simulation,
 * and a sketch never mutates itself when read.
 */

/** relative accuracy of every quantile the simulator reports */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** values at or below this (1 ns) are counted as zero */
const ZERO = 1e-9;
const EMPTY = new Uint32Array(0);

export class QuantileSketch {
  count = 0;
  sum = 0;
  max = -Infinity;
  private zeros = 0;
  /** bucket index of counts[0] */
  private offset = 0;
  private counts: Uint32Array = EMPTY;

  add(value: number): void {
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
    if (value <= ZERO) {
      this.zeros++;
      return;
    }
    const index = Math.ceil(Math.log(value) / LOG_GAMMA);
    this.ensure(index, index);
    this.counts[index - this.offset]!++;
  }

  /** Adds every value of `other` (exactly: counts are merged bucket by bucket). */
  merge(other: QuantileSketch): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
    this.zeros += other.zeros;
    if (other.counts.length === 0) return;
    this.ensure(other.offset, other.offset + other.counts.length - 1);
    const shift = other.offset - this.offset;
    for (let i = 0; i < other.counts.length; i++) this.counts[i + shift]! += other.counts[i]!;
  }

  /** Nearest-rank quantile (the ceil(q n)-th smallest value), within the relative accuracy; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    if (rank <= this.zeros) return 0;
    if (rank === this.count) return this.max;
    let seen = this.zeros;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const estimate = (2 * Math.pow(GAMMA, i + this.offset)) / (GAMMA + 1);
        return Math.min(estimate, this.max);
      }
    }
    return this.max;
  }

  private ensure(low: number, high: number): void {
    const counts = this.counts;
    const currentLow = this.offset;
    const currentHigh = this.offset + counts.length - 1;
    const empty = counts.length === 0;
    if (!empty && low >= currentLow && high <= currentHigh) return;
    let newLow = empty ? low : Math.min(low, currentLow);
    let newHigh = empty ? high : Math.max(high, currentHigh);
    // slack on the side that grew, so that a slowly widening range does not reallocate every time
    const slack = Math.max(4, (newHigh - newLow) >> 3);
    if (empty || low < currentLow) newLow -= slack;
    if (empty || high > currentHigh) newHigh += slack;
    const grown = new Uint32Array(newHigh - newLow + 1);
    if (!empty) grown.set(counts, currentLow - newLow);
    this.counts = grown;
    this.offset = newLow;
  }
}
