/**
 * A config's identity across processes: evaluate and apply are deployed apart and each loads
 * its own copy, so a decision carries the hash of the config it was made with and apply can
 * tell when it judges by another one.
 */
import { createHash } from 'node:crypto';
import type { Config } from './schema.js';

const hashes = new WeakMap<Config, string>();

/** Keys sorted at every level: the same config hashes the same whatever order its file had. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .filter((k) => obj[k] !== undefined)
        .map((k) => [k, canonical(obj[k])]),
    );
  }
  return value;
}

/** sha256 (hex) of the parsed config, defaults filled in. */
export function configHash(config: Config): string {
  let hash = hashes.get(config);
  if (!hash) {
    hash = createHash('sha256')
      .update(JSON.stringify(canonical(config)))
      .digest('hex');
    hashes.set(config, hash);
  }
  return hash;
}
