// Agent time: continued from the state file's anchor by the monotonic clock; the wall clock only starts it.
import { continueTime, readClock } from '../../lib/runtime/clock';

const A = { boot: 'boot-1', mono: 50_000, agent: 1_800_000_000_000 };

describe('continueTime', () => {
  it('first run: agent time starts at the wall clock, no gap', () => {
    const t = continueTime(null, { boot: 'boot-1', mono: 7, wall: 1_234 }, { recordSurvived: false });
    expect(t).toMatchObject({ now: 1_234, gap: null, anchor: { boot: 'boot-1', mono: 7, agent: 1_234 } });
  });

  it.each([
    ['no step', 0],
    ['the wall clock stepped +300 s', 300_000],
    ['the wall clock stepped -300 s', -300_000],
    ['the wall clock stepped +1 day', 86_400_000],
  ])('same boot, %s: agent time advances by the monotonic clock only', (_why, step) => {
    const wall = A.agent + 4_000 + step;
    const t = continueTime(A, { boot: 'boot-1', mono: A.mono + 4_000, wall }, { recordSurvived: true });
    expect(t.now).toBe(A.agent + 4_000);
    expect(t.gap).toBeNull();
    expect(t.anchor).toEqual({ boot: 'boot-1', mono: A.mono + 4_000, agent: A.agent + 4_000 });
    // for people: the wall clock of an agent time, as the wall clock reads now
    expect(t.wallOf(A.agent)).toBe(wall - 4_000);
  });

  it('another boot: agent time moves by this boot\'s uptime (less than really passed) and there is a gap', () => {
    const t = continueTime(A, { boot: 'boot-2', mono: 90_000, wall: 0 }, { recordSurvived: true });
    expect(t.now).toBe(A.agent + 90_000);
    expect(t.gap).toMatch(/rebooted/);
  });

  it('the monotonic clock went back: a reboot, whatever the boot ids say', () => {
    const t = continueTime({ ...A, boot: null }, { boot: null, mono: 10, wall: 0 }, { recordSurvived: true });
    expect(t.gap).toMatch(/rebooted/);
    expect(t.now).toBe(A.agent + 10);
  });

  it('no boot ids (a host without /proc): the RAM-held record tells one boot from the next; without it, a gap', () => {
    const anchor = { ...A, boot: null };
    const later = { boot: null, mono: A.mono + 1_000, wall: 0 };
    expect(continueTime(anchor, later, { recordSurvived: true }).gap).toBeNull();
    expect(continueTime(anchor, later, { recordSurvived: false }).gap).toMatch(/rebooted/);
  });

  it('readClock gives this boot\'s id (Linux) and a monotonic clock that advances', async () => {
    const a = readClock();
    await new Promise((r) => setTimeout(r, 20));
    const b = readClock();
    expect(a.boot).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.mono - a.mono).toBeGreaterThanOrEqual(15);
  });
});
