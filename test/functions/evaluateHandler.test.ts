/** The evaluate handler on the events/ fixtures, with in-memory adapters and the config's fixed loads. */
import { createEvaluateHandler } from '../../functions/evaluate/handler.js';
import { InvalidEventError } from '../../functions/evaluate/summary.js';
import { lambdaContext, readEvent } from '../../lib/cli/invokeCommand.js';
import { parsePoolMessage } from '../../lib/policy/messages.js';
import { memoryEvaluateWiring } from './memoryWiring.js';
import { captureLogs } from './logs.js';

const context = lambdaContext('sva-evaluate', 60);

test('events/evaluate-scheduled.json: one decision per variant queued, a summary returned and logged', async () => {
  const { wiring, queue, telemetry } = memoryEvaluateWiring();
  const handler = createEvaluateHandler(async () => wiring);
  const { result, logs } = await captureLogs(() =>
    handler(readEvent('events/evaluate-scheduled.json') as Record<string, unknown>, context),
  );
  expect(result.pool).toBe('default');
  expect(result.poolSequence).toBe(1);
  expect(result.variants.map((v) => [v.variant, v.sequence, v.action])).toEqual([
    ['llm/chat', 1, 'scale-up'],
    ['llm/summarize', 1, 'scale-up'],
  ]);
  // one decision per variant, then the pool's capacity intent
  expect(queue.depth).toBe(3);
  expect(Object.keys(result.capacity)).toEqual(['L4']);
  expect(result.capacity.L4).toBeGreaterThanOrEqual(2);
  const bodies: string[] = [];
  await queue.drain(async (body) => void bodies.push(body));
  expect(bodies.map((b) => parsePoolMessage(b).id)).toEqual(['llm/chat#1', 'llm/summarize#1', 'default#1']);
  expect(telemetry.points.map((p) => p.name)).toContain('inferno_desired_replicas');
  const [line] = logs.filter((l) => l.message === 'pool evaluated');
  expect(line).toMatchObject({
    level: 'INFO',
    service: 'sva-evaluate',
    pool: 'default',
    decisions: 2,
    poolSequence: 1,
  });
});

test('the event may name the pool', async () => {
  const { wiring } = memoryEvaluateWiring();
  const handler = createEvaluateHandler(async () => wiring);
  const { result } = await captureLogs(() => handler({ detail: { pool: 'gpu-b' } }, context));
  expect(result.pool).toBe('gpu-b');
  const { result: direct } = await captureLogs(() => handler({ pool: 'gpu-c' }, context));
  expect(direct.pool).toBe('gpu-c');
});

test('events/scheduled.json: what the deployed schedule sends (the pool as constant input)', async () => {
  const { wiring, queue } = memoryEvaluateWiring();
  const handler = createEvaluateHandler(async () => ({ ...wiring, pool: 'not-this-one' }));
  const event = readEvent('events/scheduled.json') as Record<string, unknown>;
  expect(event).toEqual({ pool: 'default' });
  const { result } = await captureLogs(() => handler(event, context));
  expect(result.pool).toBe('default');
  expect(result.variants).toHaveLength(2);
  expect(queue.depth).toBe(3);
});

test('events/evaluate-invalid-pool.json: refused before anything is decided or queued', async () => {
  const { wiring, queue } = memoryEvaluateWiring();
  const handler = createEvaluateHandler(async () => wiring);
  const failure = captureLogs(() =>
    handler(readEvent('events/evaluate-invalid-pool.json') as Record<string, unknown>, context),
  );
  await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
  await expect(failure).rejects.toThrow(
    `event pool must be a name of letters, digits, '.', '_' or '-', got "../all pools"`,
  );
  expect(queue.depth).toBe(0);
});
