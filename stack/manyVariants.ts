/**
 * A pool of many alike variants on the local stack's config (events/local-config.yaml): what the
 * apply benchmark and the 100-variant test run evaluate → apply on. Each variant is an 8B chat
 * model on L4 with a fixed load, its rate given by its index.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const LOCAL_CONFIG = fileURLToPath(new URL('../events/local-config.yaml', import.meta.url));

export function manyVariantsConfig(
  names: readonly string[],
  arrivalRate: (index: number) => number,
): Record<string, unknown> {
  const base = parse(readFileSync(LOCAL_CONFIG, 'utf8')) as Record<string, unknown>;
  return {
    ...base,
    variants: names.map((name, i) => ({
      name,
      namespace: 'llm',
      model: 'llama-3.1-8b',
      serviceClass: 'interactive',
      accelerator: 'L4',
      minReplicas: 1,
      maxReplicas: 8,
      startupSeconds: 60,
      load: { arrivalRate: arrivalRate(i), avgInputTokens: 512, avgOutputTokens: 128 },
    })),
    nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, minNodes: 0, maxNodes: 1000 }],
  };
}
