/** stabilize(): up at once within the step, down to the window's highest recommendation by steps. */
import type { Recommendation } from '../../lib/policy/memory.js';
import { stabilize, type StabilizeInput } from '../../lib/policy/stabilize.js';

const NOW = 10_000;
const rec = (age: number, replicas: number, accelerator = 'L4'): Recommendation => ({
  t: NOW - age,
  accelerator,
  replicas,
});

const input = (over: Partial<StabilizeInput>): StabilizeInput => ({
  now: NOW,
  current: 4,
  recommended: 4,
  history: [],
  windowSeconds: 300,
  observedSince: NOW - 3600,
  up: { replicas: 4, percent: 100 },
  down: { replicas: 1, percent: 50 },
  ...over,
});

describe('stabilize', () => {
  it('keeps the current size when recommended', () => {
    expect(stabilize(input({}))).toEqual({ replicas: 4 });
  });

  it('scales up at once within the step: max(replicas, ceil(percent of current))', () => {
    expect(stabilize(input({ recommended: 8 }))).toEqual({ replicas: 8 });
    // 4 + max(4, 4) = 8
    expect(stabilize(input({ recommended: 20 }))).toEqual({ replicas: 8, limitedBy: 'step' });
    // 10 + max(4, ceil(15)) = 25
    expect(stabilize(input({ current: 10, recommended: 40, up: { replicas: 4, percent: 150 } }))).toEqual({
      replicas: 25,
      limitedBy: 'step',
    });
    // from zero: at least one step of max(replicas, 1)
    expect(stabilize(input({ current: 0, recommended: 9 }))).toEqual({ replicas: 4, limitedBy: 'step' });
    expect(stabilize(input({ current: 0, recommended: 9, up: { replicas: 0, percent: 100 } }))).toEqual({
      replicas: 1,
      limitedBy: 'step',
    });
  });

  it('scales up regardless of the window history', () => {
    expect(stabilize(input({ recommended: 6, history: [rec(10, 1), rec(20, 1)] }))).toEqual({ replicas: 6 });
  });

  it('scales down only to the highest recommendation still in the window', () => {
    const history = [rec(400, 9), rec(200, 3), rec(30, 2)];
    expect(stabilize(input({ current: 4, recommended: 1, history }))).toEqual({
      replicas: 3,
      limitedBy: 'window',
    });
    // at exactly the window's age a recommendation has left it
    expect(stabilize(input({ current: 4, recommended: 1, history: [rec(300, 3)] }))).toEqual({
      replicas: 2,
      limitedBy: 'step',
    });
  });

  it('never holds above the current size because of the window', () => {
    expect(stabilize(input({ current: 4, recommended: 2, history: [rec(10, 9)] }))).toEqual({
      replicas: 4,
      limitedBy: 'window',
    });
  });

  it('steps down by at most max(replicas, floor(percent of current))', () => {
    // 10 - max(1, 5) = 5
    expect(stabilize(input({ current: 10, recommended: 1 }))).toEqual({ replicas: 5, limitedBy: 'step' });
    // 3 - max(1, 1) = 2
    expect(stabilize(input({ current: 3, recommended: 1 }))).toEqual({ replicas: 2, limitedBy: 'step' });
    // within the step: straight to the recommendation
    expect(stabilize(input({ current: 10, recommended: 6 }))).toEqual({ replicas: 6 });
    expect(stabilize(input({ current: 1, recommended: 0 }))).toEqual({ replicas: 0 });
  });

  it('does not scale down before a whole window has been observed', () => {
    // observed for 120 s of a 300 s window: the current size stands for what was not seen
    expect(stabilize(input({ current: 6, recommended: 1, observedSince: NOW - 120 }))).toEqual({
      replicas: 6,
      limitedBy: 'window',
    });
    // exactly a whole window: allowed
    expect(stabilize(input({ current: 6, recommended: 1, observedSince: NOW - 300 }))).toEqual({
      replicas: 3,
      limitedBy: 'step',
    });
  });

  it('a window of 0 and unlimited steps follow the recommendation', () => {
    expect(
      stabilize(
        input({
          current: 9,
          recommended: 1,
          windowSeconds: 0,
          observedSince: NOW,
          history: [rec(30, 9)],
          down: { replicas: 100, percent: 0 },
        }),
      ),
    ).toEqual({ replicas: 1 });
  });
});
