/** The range answer of the arrivals per step is validated: another shape is an error naming where. */
import type { QueryResult } from 'prometheus-query';
import {
  arrivalStepsQuery,
  STEP_PARTS,
  stepRowsOf,
  StepsAnswerError,
  variantArrivalSteps,
} from '../../../lib/adapters/prometheus/arrivalSteps.js';
import { TAG } from '../../../lib/adapters/prometheus/promql.js';

const answer = (resultType: string, result: unknown) => ({ resultType, result }) as unknown as QueryResult;

test('a matrix becomes rows of points by whole second, non-finite values left out', () => {
  const rows = stepRowsOf(
    answer('matrix', [
      {
        metric: { labels: { model_name: 'm' } },
        values: [
          { time: new Date(15_000), value: 3 },
          { time: new Date(30_000), value: NaN },
        ],
      },
    ]),
  );
  expect(rows).toEqual([{ labels: { model_name: 'm' }, points: new Map([[15, 3]]) }]);
});

test('another result type or a malformed series is an error naming what is wrong', () => {
  expect(() => stepRowsOf(answer('vector', []))).toThrow(
    new StepsAnswerError('arrival steps: expected a matrix, got vector'),
  );
  expect(() =>
    stepRowsOf(answer('matrix', [{ metric: { labels: {} }, values: [{ time: new Date(0), value: '3' }] }])),
  ).toThrow(/arrival steps: result\[0\]\.values\[0\]\.value: /);
});

describe("a disaggregated variant's role (its query's labels)", () => {
  const grid = { start: 0, n: 2, stepSeconds: 15 };
  const role = (r: string) => ({
    variant: `llm/pd@${r}`,
    namespace: 'llm',
    modelName: 'm',
    labels: { llm_d_ai_role: r },
    gateway: false,
  });
  const row = (part: string, r: string, values: number[]) => ({
    labels: { [TAG.part]: part, model_name: 'm', namespace: 'llm', llm_d_ai_role: r },
    points: new Map(values.map((v, j) => [j * 15, v])),
  });
  // the per-step increases of completions and what is in flight, per role, as the range query gives them
  const rows = [
    row(STEP_PARTS.completed, 'prefill', [0, 20, 30]),
    row(STEP_PARTS.inFlight, 'prefill', [0, 2, 2]),
    row(STEP_PARTS.completed, 'decode', [0, 5, 40]),
    row(STEP_PARTS.inFlight, 'decode', [0, 0, 0]),
  ];

  it("groups the range query by the role label, so each role's pods are counted apart", () => {
    const text = arrivalStepsQuery({
      models: ['m'],
      namespaces: ['llm'],
      podLevel: false,
      groupLabels: ['llm_d_ai_role'],
      gatewayModels: [],
      stepSeconds: 15,
    });
    expect(text).toContain('by (model_name, namespace, llm_d_ai_role)');
  });

  it("counts only the role's series", () => {
    expect(variantArrivalSteps(role('prefill'), rows, grid, false)!.counts).toEqual([22, 30]);
    expect(variantArrivalSteps(role('decode'), rows, grid, false)!.counts).toEqual([5, 40]);
  });
});
