// Balanced, deterministic, zone-aware assignment of displaced hosts (target choice).
import { assignDisplaced } from '../../lib/decide/assign';

const ip = (zone: number, i: number) => `10.${zone}.0.${i}`;

function loads(map: Map<string, string>): number[] {
  const count = new Map<string, number>();
  for (const s of map.values()) count.set(s, (count.get(s) ?? 0) + 1);
  return [...count.values()].sort((a, b) => b - a);
}

describe('assignDisplaced', () => {
  test('32 displaced hosts onto 32 SCVMs: one each', () => {
    const displaced = Array.from({ length: 32 }, (_, i) => ({ ip: ip(1, i + 1), zone: 'a' }));
    const healthy = Array.from({ length: 32 }, (_, i) => ({ ip: ip(2, i + 1), zone: 'b' }));
    const m = assignDisplaced(displaced, healthy, true);
    expect(m.size).toBe(32);
    expect(loads(m)).toEqual(Array(32).fill(1));
  });

  test('7 onto 3: at most ceil(7/3) = 3 on any SCVM', () => {
    const displaced = Array.from({ length: 7 }, (_, i) => ({ ip: ip(1, i + 1), zone: null }));
    const healthy = [1, 2, 3].map((i) => ({ ip: ip(2, i), zone: null }));
    expect(loads(assignDisplaced(displaced, healthy, true))).toEqual([3, 2, 2]);
  });

  test('own zone first, other zones only when the own zone has no healthy SCVM', () => {
    const displaced = [
      { ip: ip(1, 1), zone: 'a' },
      { ip: ip(1, 2), zone: 'a' },
      { ip: ip(1, 3), zone: 'c' },
    ];
    const healthy = [
      { ip: ip(2, 1), zone: 'a' },
      { ip: ip(2, 2), zone: 'b' },
    ];
    const m = assignDisplaced(displaced, healthy, true);
    expect(Object.fromEntries(m)).toEqual({ [ip(1, 1)]: ip(2, 1), [ip(1, 2)]: ip(2, 1), [ip(1, 3)]: ip(2, 2) });
    const flat = assignDisplaced(displaced, healthy, false);
    expect(Object.fromEntries(flat)).toEqual({ [ip(1, 1)]: ip(2, 1), [ip(1, 2)]: ip(2, 2), [ip(1, 3)]: ip(2, 1) });
  });

  test('the input order does not matter: every host computes the same map', () => {
    const displaced = Array.from({ length: 10 }, (_, i) => ({ ip: ip(1, i + 1), zone: null }));
    const healthy = Array.from({ length: 4 }, (_, i) => ({ ip: ip(2, i + 1), zone: null }));
    const a = assignDisplaced(displaced, healthy, true);
    const b = assignDisplaced([...displaced].reverse(), [...healthy].reverse(), true);
    expect(Object.fromEntries(b)).toEqual(Object.fromEntries(a));
  });

  test('no healthy SCVM: nobody is assigned', () => {
    expect(assignDisplaced([{ ip: ip(1, 1), zone: null }], [], true).size).toBe(0);
  });
});
