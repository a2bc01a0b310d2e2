/**
 * Writes the held-out workloads (bench/heldout/workloads.ts) as CSV `timestamp_s,input_tokens,
 * output_tokens` under bench/heldout/traces/ (git-ignored), each with a .txt note of how it was
 * derived. Seeded: the same seed gives the same files byte for byte.
 *
 *   npm run bench:heldout:make -- [--seed N] [--only NAME ...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import { randomStream } from '../../lib/fleetSimulator/random.js';
import { readTrace, type Trace } from '../../lib/fleetSimulator/traces.js';
import { CHAT_FLEET } from '../policies/traces.js';
import type { ModelProfile } from './reasoning.js';
import { WORKLOADS, type Workload } from './workloads.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TRACE_DIR = fileURLToPath(new URL('./traces/', import.meta.url));
export const DEFAULT_SEED = 17;

/** The chat fleet's H100 profile: the accelerator long contexts need (fleet-chat.yaml). */
function chatProfile(): ModelProfile {
  const config = loadConfig(CHAT_FLEET);
  const model = config.models.find((m) => m.name === config.variants[0]!.model)!;
  const p = model.profiles.H100!;
  return {
    accelerator: 'H100',
    alpha: p.alpha,
    beta: p.beta,
    delta: p.delta ?? 0,
    maxBatchSize: p.maxBatchSize,
    kvCacheTokens: p.kvCacheTokens ?? 480000,
    // Llama 3.1 8B: a 128k context; reasoning services commonly cap generation at 32k.
    contextTokens: 131072,
    maxOutputTokens: 32768,
  };
}

export const tracePath = (w: Workload) => `${TRACE_DIR}${w.name}.csv`;

/** Writes the derived workloads among `names` (all when empty); returns what each note says. */
export async function makeWorkloads(
  seed: number,
  names: readonly string[] = [],
): Promise<Map<string, string>> {
  mkdirSync(TRACE_DIR, { recursive: true });
  const sources = new Map<string, Trace>();
  const profile = chatProfile();
  const notes = new Map<string, string>();
  for (const [k, w] of WORKLOADS.entries()) {
    if (!w.derive || (names.length > 0 && !names.includes(w.name))) continue;
    if (!sources.has(w.source)) sources.set(w.source, await readTrace(`${REPO_ROOT}${w.source}`));
    // One stream per workload, so adding or dropping one leaves the others' files unchanged.
    const { requests, note } = w.derive(sources.get(w.source)!, randomStream(seed, k), profile);
    const lines = requests.map((r) => `${r.arrival.toFixed(3)},${r.inputTokens},${r.outputTokens}`);
    writeFileSync(tracePath(w), `timestamp_s,input_tokens,output_tokens\n${lines.join('\n')}\n`);
    const text = `${w.name}: derived from ${w.source}, seed ${seed} (not a recorded trace)\n${note}\n`;
    writeFileSync(`${TRACE_DIR}${w.name}.txt`, text);
    notes.set(w.name, note);
    process.stderr.write(`heldout: ${w.name}: ${note}\n`);
  }
  return notes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { seed: { type: 'string' }, only: { type: 'string', multiple: true } },
  });
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  await makeWorkloads(seed, values.only ?? []);
}
