/**
 * The link a prefill pod hands KV caches over: the transfers in flight share its bandwidth
 * equally (processor sharing), so one transfer alone takes bytes / bandwidth, and k at once each
 * progress at bandwidth / k. Time in simulated seconds.
 */
export interface KvTransfer<T> {
  readonly item: T;
  readonly bytes: number;
  readonly started: number;
  /** bytes not yet moved, as of the link's last update */
  remaining: number;
}

/**
 * A transfer with less than a microsecond of the link's time left counts as done: the rest is
 * floating-point leftover, and waiting for it would schedule events at times that round back to
 * now (simulated time is ~1e3 s, a double's step there ~1e-13 s).
 */
const DONE_SECONDS = 1e-6;

export class KvLink<T> {
  private active: KvTransfer<T>[] = [];
  private updated = 0;
  /** bumped whenever the next completion time changes: events of older versions are stale */
  version = 0;

  constructor(readonly bytesPerSecond: number) {}

  get inFlight(): number {
    return this.active.length;
  }

  /** Starts a transfer at `now`; returns the link's next completion time. */
  start(now: number, item: T, bytes: number): number {
    this.advance(now);
    this.active.push({ item, bytes, started: now, remaining: bytes });
    this.version++;
    return this.nextCompletion(now)!;
  }

  /** The transfers done by `now` (in start order), and the next completion time, if any. */
  finish(now: number): { done: KvTransfer<T>[]; next: number | undefined } {
    this.advance(now);
    const doneBytes = DONE_SECONDS * this.bytesPerSecond;
    const done = this.active.filter((t) => t.remaining <= doneBytes);
    if (done.length > 0) {
      this.active = this.active.filter((t) => t.remaining > doneBytes);
      this.version++;
    }
    return { done, next: this.nextCompletion(now) };
  }

  private advance(now: number): void {
    const n = this.active.length;
    if (n > 0 && now > this.updated) {
      const moved = ((now - this.updated) * this.bytesPerSecond) / n;
      for (const t of this.active) t.remaining -= moved;
    }
    this.updated = now;
  }

  private nextCompletion(now: number): number | undefined {
    if (this.active.length === 0) return undefined;
    let least = Infinity;
    for (const t of this.active) least = Math.min(least, t.remaining);
    return now + (Math.max(least, 0) * this.active.length) / this.bytesPerSecond;
  }
}
