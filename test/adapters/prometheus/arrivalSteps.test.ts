/** The range answer of the arrivals per step is validated: another shape is an error naming where. */
import type { QueryResult } from 'prometheus-query';
import { stepRowsOf, StepsAnswerError } from '../../../lib/adapters/prometheus/arrivalSteps.js';

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
