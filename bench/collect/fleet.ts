/**
 * The emulated fleet of the collection benchmark, in its own process so that serving scrapes does
 * not compete with the collector's event loop: one /metrics target per variant (its replicas as
 * `pod` labels), vLLM namings in turn, request rates 1..10 per replica. Prints one JSON line
 * `{ targets, variants: [{ variant, namespace, modelName, arrivalRate }] }`, then serves until
 * SIGTERM or SIGINT.
 *
 *   node bin/run-ts.js bench/collect/fleet.ts [--variants 100] [--replicas 2]
 */
import { parseArgs } from 'node:util';
import {
  EMULATED_NAMINGS,
  FixedLoadVariant,
  VllmEmulatorServer,
} from '../../lib/adapters/vllmEmulator/index.js';

const { values } = parseArgs({
  options: { variants: { type: 'string', default: '100' }, replicas: { type: 'string', default: '2' } },
});
const count = Math.max(1, Math.round(Number(values.variants)) || 100);
const replicas = Math.max(1, Math.round(Number(values.replicas)) || 2);

const servers: VllmEmulatorServer[] = [];
const variants: { variant: string; namespace: string; modelName: string; arrivalRate: number }[] = [];
for (let i = 0; i < count; i++) {
  const namespace = `bench-${i % 5}`;
  const modelName = `model-${String(i).padStart(3, '0')}`;
  const requestRate = 1 + (i % 10);
  const variant = new FixedLoadVariant({
    model: modelName,
    namespace,
    pods: replicas,
    naming: EMULATED_NAMINGS[i % EMULATED_NAMINGS.length]!,
    load: {
      requestRate,
      inputTokens: 500,
      outputTokens: 100,
      ttftSeconds: 0.2,
      itlSeconds: 0.03,
      running: 4,
      waiting: 1,
      kvCacheUsage: 0.3,
    },
  });
  servers.push(new VllmEmulatorServer([variant.source()]));
  variants.push({
    variant: `${namespace}/v-${i}`,
    namespace,
    modelName,
    arrivalRate: requestRate * replicas,
  });
}
const targets: string[] = [];
for (const s of servers) targets.push(await s.start());
process.stdout.write(`${JSON.stringify({ targets, variants })}\n`);

const stop = async () => {
  for (const s of servers) await s.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
