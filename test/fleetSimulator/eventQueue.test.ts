import { EventQueue } from '../../lib/fleetSimulator/eventQueue.js';
import { mulberry32 } from '../../lib/fleetSimulator/index.js';

describe('EventQueue', () => {
  test('pops by time, then rank, then insertion order', () => {
    const queue = new EventQueue<string>();
    queue.push(2, 0, 'late');
    queue.push(1, 3, 'step');
    queue.push(1, 2, 'arrival-a');
    queue.push(1, 2, 'arrival-b');
    queue.push(0.5, 9, 'first');
    const order: string[] = [];
    for (let e = queue.pop(); e !== undefined; e = queue.pop()) order.push(e.payload);
    expect(order).toEqual(['first', 'arrival-a', 'arrival-b', 'step', 'late']);
  });

  test('matches a sort on random input', () => {
    const random = mulberry32(1);
    const queue = new EventQueue<number>();
    const items = Array.from({ length: 5000 }, (_, i) => ({
      time: Math.floor(random() * 100),
      rank: Math.floor(random() * 3),
      i,
    }));
    for (const item of items) queue.push(item.time, item.rank, item.i);
    const expected = [...items]
      .sort((a, b) => a.time - b.time || a.rank - b.rank || a.i - b.i)
      .map((x) => x.i);
    const popped: number[] = [];
    while (queue.size > 0) popped.push(queue.pop()!.payload);
    expect(popped).toEqual(expected);
  });

  test('rejects non-finite times', () => {
    expect(() => new EventQueue<null>().push(NaN, 0, null)).toThrow(RangeError);
  });
});
