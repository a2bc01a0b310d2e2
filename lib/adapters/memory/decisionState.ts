/** Decision state in process memory: for tests, the simulation and single-process use. */
import { emptyMemory, type PolicyMemory } from '../../policy/memory.js';
import type { AppliedMark, DecisionState } from '../../policy/ports.js';

const labelKey = (labels: Readonly<Record<string, string>>) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

export class MemoryDecisionState implements DecisionState {
  private readonly policies = new Map<string, string>();
  private readonly applied = new Map<string, AppliedMark>();
  private readonly reached = new Map<string, number>();
  private readonly capacity = new Map<string, number>();
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

  async claim(variant: string, sequence: number): Promise<boolean> {
    const last = await this.lastApplied(variant);
    if (sequence < last.sequence || (sequence === last.sequence && last.applied)) return false;
    this.applied.set(variant, { sequence, applied: false });
    return true;
  }

  async markApplied(variant: string, sequence: number): Promise<void> {
    const last = await this.lastApplied(variant);
    if (last.sequence === sequence) this.applied.set(variant, { sequence, applied: true });
  }

  async markPoolReached(variant: string, poolSequence: number): Promise<void> {
    this.reached.set(variant, Math.max(this.reached.get(variant) ?? 0, poolSequence));
  }

  async poolReached(variant: string): Promise<number> {
    return this.reached.get(variant) ?? 0;
  }

  async claimCapacity(pool: string, poolSequence: number): Promise<boolean> {
    if ((this.capacity.get(pool) ?? 0) > poolSequence) return false;
    this.capacity.set(pool, poolSequence);
    return true;
  }

  async incrementScalingCounter(labels: Readonly<Record<string, string>>): Promise<number> {
    const key = labelKey(labels);
    const value = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, value);
    return value;
  }
}
