/**
 * Make-before-break with a spill (lib/policy/spill.ts, readyBeforeRelease): the other
 * accelerators' replicas go only once what replaces them is ready, on the chosen accelerator and,
 * for the recommendation's part beyond what it can hold, on the spill's (bench/RESULTS.md, "Issue
 * 14: the spill on the default scenario"): a move to an accelerator the other variants' targets
 * fill released what served at once, with nothing ready anywhere.
 */
import { readyBeforeRelease } from '../../lib/policy/spill.js';

const base = { target: 12, room: 16, recommended: 12, partial: false, rate: 0.25 };

describe('readyBeforeRelease', () => {
  it('waits for the whole target where the chosen accelerator can hold it', () => {
    expect(readyBeforeRelease(base)).toBe(12);
  });

  it('waits for what the recommendation needs where the target is beyond the room and the recommendation is not', () => {
    expect(readyBeforeRelease({ ...base, target: 19, recommended: 14 })).toBe(14);
  });

  it('keeps what runs while the spill has not ready the recommendation beyond the room', () => {
    // the default scenario's chat-8b: moved to H100, which the other variant's target fills
    const moved = { ...base, target: 12, room: 0, recommended: 12 };
    expect(readyBeforeRelease(moved)).toBe(Infinity);
    expect(readyBeforeRelease({ ...moved, spill: { ready: 0, rate: 0.125 } })).toBe(Infinity);
    // 23 of the 24 L4 replicas the 12 H100 replicas' worth needs at half the rate: still kept
    expect(readyBeforeRelease({ ...moved, spill: { ready: 23, rate: 0.125 } })).toBe(Infinity);
    // all 24 ready: the chosen accelerator needs none of its own
    expect(readyBeforeRelease({ ...moved, spill: { ready: 24, rate: 0.125 } })).toBe(0);
  });

  it('releases once the chosen accelerator and the spill together have what the recommendation needs', () => {
    const beyond = { ...base, target: 20, room: 16, recommended: 18 };
    expect(readyBeforeRelease({ ...beyond, spill: { ready: 3, rate: 0.125 } })).toBe(Infinity);
    expect(readyBeforeRelease({ ...beyond, spill: { ready: 4, rate: 0.125 } })).toBe(16);
  });

  it('releases nothing on a partial measurement', () => {
    expect(readyBeforeRelease({ ...base, partial: true })).toBe(Infinity);
  });
});
