// The fleet benchmark's arithmetic (scripts/bench-fleet): what it prints is only as good as these.
import { backAfterSec, peakOpen, percentile, perSecond } from './bench-fleet-figures';

describe('bench-fleet figures', () => {
  test('perSecond: arrivals binned by whole seconds from the start; outside the span ignored', () => {
    const at = [999, 1000, 1500, 1999, 2000, 3999, 4000, 500];
    expect(perSecond(at.map((t) => ({ at: t })), 1000, 4000)).toEqual([3, 1, 1]);
  });

  test('peakOpen: the most open at once, counting what was open when the span began; an end and an arrival at one instant do not overlap', () => {
    const reqs = [
      { at: 0, endedAt: 1500 }, // open when the span starts at 1000
      { at: 1200, endedAt: 1300 },
      { at: 1300, endedAt: 1400 }, // arrives as the one before ends
      { at: 1350 }, // never ended
      { at: 2500, endedAt: 2600 }, // after the span
    ];
    expect(peakOpen(reqs, 1000, 2000)).toBe(3);
    expect(peakOpen(reqs, 1600, 2000)).toBe(1);
    expect(peakOpen([], 0, 1000)).toBe(0);
  });

  test('backAfterSec: the first second from which every 5 s window stays within 20 % of the baseline', () => {
    const baseline = 100;
    expect(backAfterSec([100, 100, 100, 100, 100, 100], baseline)).toBe(0);
    // a burst, then steady: back once no window holds the burst
    expect(backAfterSec([400, 100, 100, 100, 100, 100, 100, 100], baseline)).toBe(1);
    // back once, then out again: "stays" means the later dip counts, so back only after it
    expect(backAfterSec([100, 100, 100, 100, 100, 0, 0, 95, 95, 95, 95, 95, 95], baseline)).toBe(7);
    // a 5 s mean at 119 % is within; at 121 % it is not
    expect(backAfterSec([119, 119, 119, 119, 119], baseline)).toBe(0);
    expect(backAfterSec([121, 121, 121, 121, 121], baseline)).toBeNull();
    // too short a series to judge, or no baseline
    expect(backAfterSec([100, 100, 100, 100], baseline)).toBeNull();
    expect(backAfterSec([0, 0, 0, 0, 0], 0)).toBeNull();
  });

  test('percentile: nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 99)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
  });
});
