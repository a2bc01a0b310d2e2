/** Decision state in process memory: for tests, the simulation and single-process use. */
import { emptyMemory, type PolicyMemory } from '../../policy/memory.js';
import type {
  AppliedMark,
  CapacityMark,
  Claim,
  DecisionState,
  Done,
  DoneAnswer,
} from '../../policy/ports.js';

const labelKey = (labels: Readonly<Record<string, string>>) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

/** Generation 0 (records from before generations) is left out, as a stored mark without it reads. */
const mark = (sequence: number, applied: boolean, generation: number): AppliedMark =>
  generation === 0 ? { sequence, applied } : { sequence, applied, generation };

export class MemoryDecisionState implements DecisionState {
  private readonly policies = new Map<string, string>();
  private readonly applied = new Map<string, AppliedMark>();
  private readonly reached = new Map<string, CapacityMark>();
  private readonly capacity = new Map<string, CapacityMark>();
  private readonly counters = new Map<string, number>();

  async loadPolicy(pool: string): Promise<PolicyMemory> {
    const saved = this.policies.get(pool);
    // Stored as JSON, as a real store would, so callers cannot share mutable state with it.
    return saved ? (JSON.parse(saved) as PolicyMemory) : emptyMemory();
  }

  async savePolicy(pool: string, memory: PolicyMemory): Promise<void> {
    this.policies.set(pool, JSON.stringify(memory));
  }

  async lastApplied(variant: string): Promise<AppliedMark> {
    return this.applied.get(variant) ?? { sequence: 0, applied: false };
  }

  async claim(variant: string, sequence: number, generation = 0): Promise<Claim> {
    const last = await this.lastApplied(variant);
    const lastGeneration = last.generation ?? 0;
    if (generation < lastGeneration) return { claimed: false, last };
    if (
      generation === lastGeneration &&
      (sequence < last.sequence || (sequence === last.sequence && last.applied))
    )
      return { claimed: false, last };
    this.applied.set(variant, mark(sequence, false, generation));
    return { claimed: true };
  }

  async markDone(variant: string, done: Done): Promise<DoneAnswer> {
    const generation = done.generation ?? 0;
    const last = await this.lastApplied(variant);
    if (
      done.appliedSequence !== undefined &&
      last.sequence === done.appliedSequence &&
      (last.generation ?? 0) === generation
    )
      this.applied.set(variant, mark(done.appliedSequence, true, generation));
    const reached = this.reached.get(variant) ?? { generation: 0, poolSequence: 0 };
    if (generation > reached.generation)
      this.reached.set(variant, { generation, poolSequence: done.poolSequence });
    else if (generation === reached.generation)
      this.reached.set(variant, {
        generation,
        poolSequence: Math.max(reached.poolSequence, done.poolSequence),
      });
    return done.count ? { count: this.increment(done.count) } : {};
  }

  async poolsReached(variants: readonly string[], generation = 0): Promise<Map<string, number>> {
    return new Map(
      variants.map((variant) => {
        const last = this.reached.get(variant) ?? { generation: 0, poolSequence: 0 };
        if (last.generation > generation) return [variant, Infinity];
        return [variant, last.generation === generation ? last.poolSequence : 0];
      }),
    );
  }

  async claimCapacity(pool: string, poolSequence: number, generation = 0): Promise<boolean> {
    const last = this.capacity.get(pool) ?? { generation: 0, poolSequence: 0 };
    if (generation < last.generation || (generation === last.generation && last.poolSequence > poolSequence))
      return false;
    this.capacity.set(pool, { generation, poolSequence });
    return true;
  }

  async capacityMark(pool: string): Promise<CapacityMark | undefined> {
    return this.capacity.get(pool);
  }

  async incrementCounter(metric: string, labels: Readonly<Record<string, string>>): Promise<number> {
    return this.increment({ ...labels, __name__: metric });
  }

  private increment(labels: Readonly<Record<string, string>>): number {
    const key = labelKey(labels);
    const value = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, value);
    return value;
  }
}
