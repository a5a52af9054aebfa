// The race's memory on its own, with a clock the test moves: hedge delay, retry budget, requests in flight.
import { LatencyWindow, MAX_IN_FLIGHT, RetryBudget, Slots, type RaceSettings } from '../../../lib/observe/zbs/race-state';
import { parseBudget } from '../../../lib/state/run-files';

const settings = (over: Partial<RaceSettings> = {}): RaceSettings => ({
  hedgeFloorMs: 100,
  hedgeCeilingMs: 1000,
  retryTokens: 3,
  retryRefillSec: 10,
  ...over,
});

describe('hedge delay', () => {
  test('nothing seen yet: the ceiling (a late hedge rather than an early one)', () => {
    expect(new LatencyWindow(settings()).hedgeDelayMs()).toBe(1000);
  });

  test('the 95th percentile of the answers seen, within floor and ceiling', () => {
    const w = new LatencyWindow(settings());
    for (let i = 1; i <= 20; i++) w.record(i * 10); // 10..200 ms
    expect(w.p95()).toBe(190); // nearest rank: the 19th of 20
    expect(w.hedgeDelayMs()).toBe(190);

    const fast = new LatencyWindow(settings());
    [3, 5, 4].forEach((ms) => fast.record(ms));
    expect(fast.hedgeDelayMs()).toBe(100); // the floor

    const slow = new LatencyWindow(settings());
    [1500, 4000].forEach((ms) => slow.record(ms));
    expect(slow.hedgeDelayMs()).toBe(1000); // the ceiling
  });

  test('it follows the last 50 answers: a slow spell counts while it is more than 5% of them', () => {
    const w = new LatencyWindow(settings());
    for (let i = 0; i < 10; i++) w.record(800);
    expect(w.hedgeDelayMs()).toBe(800);
    for (let i = 0; i < 47; i++) w.record(5);
    expect(w.hedgeDelayMs()).toBe(800); // 3 of the last 50 took 800 ms
    w.record(5);
    expect(w.hedgeDelayMs()).toBe(100); // 2 of 50: below the 95th percentile
  });
});

describe('retry budget', () => {
  test('spent token by token; empty, nothing more is spent', () => {
    const b = new RetryBudget(settings(), () => 0);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.left()).toBe(0);
  });

  test('an answer gives back what its call spent and one more, up to the capacity', () => {
    const b = new RetryBudget(settings(), () => 0);
    b.take();
    b.take();
    b.take();
    b.answered(0);
    expect(b.left()).toBe(1);
    b.answered(1);
    expect(b.left()).toBe(3);
    b.answered(5);
    expect(b.left()).toBe(3);
  });

  test('time gives a token back every retryRefillSec, never more than the capacity', () => {
    let t = 1_000;
    const b = new RetryBudget(settings(), () => t);
    b.take();
    b.take();
    b.take();
    t += 9_999;
    expect(b.take()).toBe(false);
    t += 1;
    expect(b.take()).toBe(true);
    t += 3_600_000;
    expect(b.left()).toBe(3);
  });

  test('retryTokens 0: never an extra request', () => {
    expect(new RetryBudget(settings({ retryTokens: 0 }), () => 0).take()).toBe(false);
  });

  test('a budget handed over by the last process goes on from where it was, refilled for the time between', () => {
    let t = 50_000;
    const last = new RetryBudget(settings(), () => t);
    for (let i = 0; i < 3; i++) last.take();
    const handed = parseBudget(JSON.stringify(last.memory()))!;
    t += 5_000; // the next process starts 5 s later: half a token back, not a full budget
    const next = new RetryBudget(settings(), () => t, handed);
    expect(next.left()).toBeCloseTo(0.5);
    expect(next.take()).toBe(false);
    t += 5_000;
    expect(next.take()).toBe(true);
  });

  test('a handed budget is never more than the capacity, and one from a time to come (another boot) is not believed', () => {
    expect(new RetryBudget(settings(), () => 1_000, { tokens: 50, at: 1_000 }).left()).toBe(3);
    expect(new RetryBudget(settings(), () => 1_000, { tokens: 0, at: 9_000 }).left()).toBe(3);
  });

  test('a hand-over file that is not what this version writes gives a full budget', () => {
    for (const text of ['', '{', 'null', '[]', '{"tokens":"1","at":5}', '{"tokens":-1,"at":5}', '{"tokens":1}', '{"tokens":1,"at":1e999}']) {
      expect(parseBudget(text)).toBeUndefined();
    }
    expect(parseBudget('{"tokens":1.5,"at":5}')).toEqual({ tokens: 1.5, at: 5 });
  });
});

describe('requests in flight', () => {
  test('two at most; the first request of a call always gets one', () => {
    const s = new Slots();
    const a = s.take(true);
    const b = s.take(false);
    expect(a && b).toBeTruthy();
    expect(s.take(false)).toBeNull();
    expect(s.inFlight()).toBe(MAX_IN_FLIGHT);
    const c = s.take(true);
    expect(s.inFlight()).toBe(3);
    c!.release();
    c!.release(); // idempotent
    expect(s.inFlight()).toBe(2);
  });

  test('a lingering request gives its slot up (and is aborted) when a new one needs it', () => {
    const s = new Slots();
    const aborted: string[] = [];
    s.take(true)!.linger(() => aborted.push('old'));
    s.take(false)!.linger(() => aborted.push('newer'));
    expect(s.take(false)).not.toBeNull();
    expect(aborted).toEqual(['old']);
    expect(s.inFlight()).toBe(2);
    s.abortLingering();
    expect(aborted).toEqual(['old', 'newer']);
    expect(s.inFlight()).toBe(1);
  });

  test('a call waiting for a slot is woken once one is freed', async () => {
    const s = new Slots();
    const a = s.take(true)!;
    s.take(false);
    let woken = 0;
    s.whenFree(() => woken++);
    const cancelled = s.whenFree(() => (woken += 100));
    cancelled();
    a.release();
    expect(woken).toBe(0); // after the current call stack
    await Promise.resolve();
    expect(woken).toBe(1);
    expect(s.take(false)).not.toBeNull();
  });
});
