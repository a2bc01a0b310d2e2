/** A pool input run through the stages of a decision up to the one under test. */
import type { Config } from '../../../lib/config/schema.js';
import { assessDemand, type Assessed } from '../../../lib/policy/stages/demand.js';
import { guard, type Guarded } from '../../../lib/policy/stages/guards.js';
import { observe } from '../../../lib/policy/stages/observe.js';
import { size, type Sized } from '../../../lib/policy/stages/size.js';
import { poolInput, type PoolInputOptions } from '../helpers.js';

export function throughDemand(config: Config, o: PoolInputOptions = {}): Assessed[] {
  const input = poolInput(config, o);
  return observe(input).map((x) => assessDemand(x, config, input.now));
}

export function throughSize(config: Config, o: PoolInputOptions = {}): Sized[] {
  return size(throughDemand(config, o), config, poolInput(config, o).now);
}

export function throughGuards(config: Config, o: PoolInputOptions = {}): Guarded[] {
  const now = poolInput(config, o).now;
  return throughSize(config, o).map((s) => guard(s, config, now));
}
