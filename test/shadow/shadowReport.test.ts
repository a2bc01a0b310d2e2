/**
 * shadowReport on hand-made series: steps count only where both sides have a value, days split at
 * UTC midnight, demand beyond what the replicas take counts as over target.
 */
import { shadowReport, type ReplicaSeries } from '../../lib/shadow/shadowReport.js';
import { poolConfig, ratePerReplica, TOKENS } from '../policy/helpers.js';

const config = poolConfig();
const r = ratePerReplica(config);
const DAY = 1_767_225_600; // 2026-01-01T00:00:00Z
const series = (accelerator: string, points: [number, number][]): ReplicaSeries => ({
  variant: 'llm/chat',
  accelerator,
  points: new Map(points),
});

test('a step counts only where both sides have a value; days split at midnight UTC', () => {
  const rows = shadowReport({
    config,
    from: DAY - 3600,
    to: DAY + 3600,
    stepSeconds: 1800,
    // sva: every step; ran: not the first
    sva: [
      series(
        'L4',
        [DAY - 3600, DAY - 1800, DAY, DAY + 1800].map((t) => [t, 2]),
      ),
    ],
    ran: [
      series(
        'L4',
        [DAY - 1800, DAY, DAY + 1800].map((t) => [t, 4]),
      ),
    ],
    demand: new Map(),
  });
  expect(rows.map((d) => [d.day, d.hours, d.sva.deviceHours, d.ran.deviceHours])).toEqual([
    ['2025-12-31', 0.5, 1, 2],
    ['2026-01-01', 1, 2, 4],
  ]);
  // no demand measured: nothing predicted
  expect(rows[0]!.sva).toMatchObject({ ttftMs: null, itlMs: null, overTargetShare: null });
});

test('demand the replicas cannot take is over target; within it, predicted and under', () => {
  const demand = new Map([
    [
      'llm/chat',
      new Map([
        [DAY, { rate: 3.5 * r, inputTokens: TOKENS.input, outputTokens: TOKENS.output }],
        [DAY + 60, { rate: 3.5 * r, inputTokens: TOKENS.input, outputTokens: TOKENS.output }],
      ]),
    ],
  ]);
  const [row] = shadowReport({
    config,
    from: DAY,
    to: DAY + 120,
    stepSeconds: 60,
    sva: [
      series('L4', [
        [DAY, 4],
        [DAY + 60, 4],
      ]),
    ],
    ran: [
      series('L4', [
        [DAY, 1],
        [DAY + 60, 1],
      ]),
    ],
    demand,
  });
  expect(row!.sva.overTargetShare).toBe(0);
  expect(row!.sva.ttftMs).toBeGreaterThan(0);
  expect(row!.ran.overTargetShare).toBe(1);
  expect(row!.ran.ttftMs).toBeNull();
});

test('a step of zero is refused', () => {
  expect(() =>
    shadowReport({ config, from: 0, to: 1, stepSeconds: 0, sva: [], ran: [], demand: new Map() }),
  ).toThrow(RangeError);
});
