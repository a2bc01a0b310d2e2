/**
 * Scale: one evaluation of a 100-variant pool through SQS FIFO to the apply handler, on moto and
 * a real kube-apiserver, timed. Every Deployment ends at its decided size and the node group at
 * the pool's plan.
 */
import { jest } from '@jest/globals';
import { createApplyHandler, logger as applyLogger } from '../../../functions/apply/handler.js';
import { createEvaluateHandler, logger as evaluateLogger } from '../../../functions/evaluate/handler.js';
import { applyWiring, evaluateWiring } from '../../../functions/wiring.js';
import { lambdaContext } from '../../../lib/cli/invokeCommand.js';
import { manyVariantsConfig } from '../../../stack/manyVariants.js';
import { replicasOf } from '../kubernetes/kubeApiServer.js';
import { captureLogs, startStack, type Stack } from './stack.js';

jest.setTimeout(300_000);

const VARIANTS = 100;
const names = Array.from({ length: VARIANTS }, (_, i) => `v${String(i).padStart(3, '0')}`);

// 0.5 to 5.45 req/s: targets from 1 to the step limit
const config = () => manyVariantsConfig(names, (i) => 0.5 + (i % 10) * 0.55);

let stack: Stack | undefined;

beforeAll(async () => {
  stack = await startStack({
    config: config(),
    maxReceiveCount: 3,
    // the Auto Scaling group's MaxSize bounds the node group (the autoscaler never raises it)
    nodeGroups: [{ name: 'gpu-l4', minSize: 0, maxSize: 1000, desiredSize: VARIANTS }],
    deployments: { llm: Object.fromEntries(names.map((n) => [n, 1])) },
  });
  Object.assign(process.env, stack.moto.env);
});

afterAll(async () => {
  await stack?.stop();
});

test(`evaluate → SQS → apply for ${VARIANTS} variants completes`, async () => {
  const s = stack!;
  const evaluate = createEvaluateHandler(() => evaluateWiring(s.evaluateEnv, evaluateLogger));
  const apply = createApplyHandler(() => applyWiring(s.env, applyLogger));
  const t0 = performance.now();
  const { result: summary } = await captureLogs(() =>
    evaluate({ detail: {} }, lambdaContext('sva-evaluate', 60)),
  );
  const t1 = performance.now();
  const { result: totals, logs } = await captureLogs(() => s.drain(apply, 200));
  const t2 = performance.now();

  expect(summary.variants).toHaveLength(VARIANTS);
  // one decision per variant and the pool's capacity intent
  expect(totals).toMatchObject({ received: VARIANTS + 1, deleted: VARIANTS + 1, failed: 0 });
  expect(logs.filter((l) => l.message === 'decision applied')).toHaveLength(VARIANTS);
  const targets = new Map(summary.variants.map((v) => [v.variant.split('/')[1]!, v.targetReplicas]));
  expect(new Set(targets.values()).size).toBeGreaterThan(2);
  for (const name of names) expect(await replicasOf(s.kube.admin, 'llm', name)).toBe(targets.get(name));
  const nodes = [...targets.values()].reduce((a, b) => a + b, 0);
  expect(await s.nodeGroup('gpu-l4')).toMatchObject({ desiredSize: nodes, maxSize: 1000 });

  const timing = {
    variants: VARIANTS,
    evaluateMs: Math.round(t1 - t0),
    applyMs: Math.round(t2 - t1),
    totalMs: Math.round(t2 - t0),
    polls: totals.polls,
  };
  console.log(`100-variant timing: ${JSON.stringify(timing)}`);
  expect(timing.totalMs).toBeLessThan(120_000);
});
