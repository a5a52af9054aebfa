// Flap damping math and the stable period it sets.
import { maxPenalty, penaltyAt, recordRelapse, requiredStableSec } from '../../lib/decide/damping';
import { LOCAL, R16, T0, config, passes, session } from './builders';

const cfg = config().decide; // 180 s, cap 1800 s, half-life 900 s
const none = { penalty: 0, penaltyAt: null, relapses: [] };

describe('damping', () => {
  test('first relapse needs the base period; each quick relapse doubles it; capped', () => {
    let d = recordRelapse(none, T0, cfg);
    expect(requiredStableSec(d, T0, cfg)).toBe(180);
    d = recordRelapse(d, T0, cfg);
    expect(requiredStableSec(d, T0, cfg)).toBe(360);
    d = recordRelapse(d, T0, cfg);
    expect(requiredStableSec(d, T0, cfg)).toBe(720);
    for (let i = 0; i < 10; i++) d = recordRelapse(d, T0, cfg);
    expect(d.penalty).toBeCloseTo(maxPenalty(cfg), 10);
    expect(requiredStableSec(d, T0, cfg)).toBe(1800);
  });

  test('the penalty halves every half-life', () => {
    const d = { penalty: 3, penaltyAt: T0, relapses: [T0] };
    expect(penaltyAt(d, T0 + 900_000, cfg)).toBeCloseTo(1.5, 10);
    expect(penaltyAt(d, T0 + 1_800_000, cfg)).toBeCloseTo(0.75, 10);
  });

  test('never below the configured period', () => {
    expect(requiredStableSec(none, T0, cfg)).toBe(180);
    const d = { penalty: 1.0000001, penaltyAt: T0, relapses: [T0] };
    expect(requiredStableSec(d, T0 + 86_400_000, cfg)).toBe(180);
  });

  test('a relapse after a long healthy time costs only the base period again', () => {
    const d = recordRelapse(recordRelapse(none, T0, cfg), T0 + 24 * 3600_000, cfg);
    expect(requiredStableSec(d, T0 + 24 * 3600_000, cfg)).toBe(180);
  });

  test('API outage ("unknown") neither starts nor breaks the healthy streak', () => {
    const sessions = [session(LOCAL), session(R16)];
    const { results } = passes([
      { up: { [LOCAL]: false } },
      { sessions },
      { sessions: 'api-down' },
      { sessions },
    ]);
    expect(results.map((d) => [d.local, d.localHealthySec])).toEqual([
      ['icmp-down', null],
      ['healthy', 0],
      ['unknown', 5],
      ['healthy', 10],
    ]);
  });

  test('a relapse while rerouted resets the streak and lengthens the next stable period', () => {
    const dead = { up: { [LOCAL]: false }, route: [R16] };
    const ok = { route: [R16] };
    const { results } = passes([dead, ok, ok, dead, ok], { stepSec: 10 });
    expect(results.map((d) => [d.localHealthySec, d.requiredStableSec])).toEqual([
      [null, 180],
      [0, 180],
      [10, 180],
      // second relapse 30 s after the first: penalty 2^(-30/900) + 1 = 1.977, 180 * 2^0.977 = 354.3 -> 355
      [null, 355],
      // 10 s later the penalty has decayed to 1.962: 180 * 2^0.962 = 350.6 -> 351
      [0, 351],
    ]);
  });
});
