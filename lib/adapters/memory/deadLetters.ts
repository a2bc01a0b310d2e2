/** The dead-letter queue in process memory: what apply set aside, in order, for tests and the simulation. */
import type { DeadLetters } from '../../policy/ports.js';

export interface DeadLetter {
  readonly body: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly reason: string;
}

export class MemoryDeadLetters implements DeadLetters {
  readonly letters: DeadLetter[] = [];

  async send(m: DeadLetter): Promise<void> {
    this.letters.push({ ...m });
  }
}
