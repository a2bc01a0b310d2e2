/** SeasonStore in memory, for unit tests and the simulation: a copy in, a copy out, as a store would. */
import type { SeasonStore } from '../../policy/ports.js';
import type { SeasonState } from '../../policy/seasonal.js';

export class MemorySeasonStore implements SeasonStore {
  private readonly states = new Map<string, string>();

  async load(variants: readonly string[]): Promise<Map<string, SeasonState>> {
    const out = new Map<string, SeasonState>();
    for (const v of variants) {
      const json = this.states.get(v);
      if (json !== undefined) out.set(v, JSON.parse(json) as SeasonState);
    }
    return out;
  }

  async save(states: ReadonlyMap<string, SeasonState>): Promise<void> {
    for (const [v, s] of states) this.states.set(v, JSON.stringify(s));
  }
}
