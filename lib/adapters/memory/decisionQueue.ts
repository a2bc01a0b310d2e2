/**
 * A FIFO queue in memory with SQS FIFO's guarantees that matter here: order within a message
 * group, deduplication by id within a window, and redelivery of what was not acknowledged.
 */
import { deduplicationIdOf, groupIdOf, type PoolMessage } from '../../policy/messages.js';
import type { DecisionQueue } from '../../policy/ports.js';

export interface QueuedMessage {
  readonly body: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly sentAt: number;
  receiveCount: number;
}

export class MemoryDecisionQueue implements DecisionQueue {
  private readonly messages: QueuedMessage[] = [];
  private readonly seen = new Map<string, number>();
  readonly deadLetters: QueuedMessage[] = [];

  constructor(
    private readonly clock: () => number = () => Date.now() / 1000,
    private readonly dedupWindowSeconds = 300,
    private readonly maxReceives = 3,
  ) {}

  async send(messages: readonly PoolMessage[]): Promise<void> {
    for (const m of messages) this.sendRaw(JSON.stringify(m), groupIdOf(m), deduplicationIdOf(m));
  }

  /** Enqueues any body (tests use it for malformed messages). */
  sendRaw(body: string, groupId: string, dedupId: string): void {
    const now = this.clock();
    const seenAt = this.seen.get(dedupId);
    if (seenAt !== undefined && now - seenAt < this.dedupWindowSeconds) return;
    this.seen.set(dedupId, now);
    this.messages.push({ body, groupId, deduplicationId: dedupId, sentAt: now, receiveCount: 0 });
  }

  get depth(): number {
    return this.messages.length;
  }

  /**
   * Hands every queued message to `handle` in order; a message whose handler throws stays
   * queued (and blocks the rest of its group, as SQS FIFO does) until it has been received
   * maxReceives times, then goes to deadLetters.
   */
  async drain(handle: (body: string) => Promise<void>): Promise<void> {
    const blocked = new Set<string>();
    for (const message of [...this.messages]) {
      if (blocked.has(message.groupId)) continue;
      message.receiveCount++;
      try {
        await handle(message.body);
        this.messages.splice(this.messages.indexOf(message), 1);
      } catch {
        blocked.add(message.groupId);
        if (message.receiveCount >= this.maxReceives) {
          this.messages.splice(this.messages.indexOf(message), 1);
          this.deadLetters.push(message);
          blocked.delete(message.groupId);
        }
      }
    }
  }
}
