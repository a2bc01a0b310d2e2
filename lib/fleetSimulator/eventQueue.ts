/**
 * Binary min-heap of simulation events ordered by (time, rank, seq). `rank` orders kinds of
 * events that fall on the same instant (e.g. arrivals before an iteration boundary, so that a
 * request arriving exactly at a boundary joins the next iteration); `seq` is insertion order,
 * which makes ties, and so whole runs, deterministic.
 */

export interface QueuedEvent<T> {
  readonly time: number;
  readonly rank: number;
  readonly seq: number;
  readonly payload: T;
}

function before<T>(a: QueuedEvent<T>, b: QueuedEvent<T>): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.rank !== b.rank) return a.rank < b.rank;
  return a.seq < b.seq;
}

export class EventQueue<T> {
  private readonly heap: QueuedEvent<T>[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, rank: number, payload: T): void {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`);
    const heap = this.heap;
    const event: QueuedEvent<T> = { time, rank, seq: this.nextSeq++, payload };
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  peek(): QueuedEvent<T> | undefined {
    return this.heap[0];
  }

  pop(): QueuedEvent<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!, heap[left]!)) child = right;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
