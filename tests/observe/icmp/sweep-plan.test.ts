// The sweep plan the loader trusts before anything is checked, and the pass's decision to take its sweep over.
import fc from 'fast-check';
import { adoptSweep } from '../../../lib/observe/icmp/adopt-sweep';
import type { ProbeSettings, SweepHandle } from '../../../lib/observe/icmp/prober';
import { checkPlan, planDiffers, type SweepPlan } from '../../../lib/observe/icmp/sweep-plan';
import { probeSchema } from '../../../lib/config/schema';
import type { Log } from '../../../lib/runtime/log';
import { recordingLog } from '../../support/log';

const PROBE: ProbeSettings = probeSchema.parse({});
const PLAN: SweepPlan = {
  config: { path: '/scratch/reroute/config.json', size: 812, mtimeMs: 1795632826933.4, ino: 4242 },
  targets: ['10.10.85.15', '10.10.85.16', '10.10.85.17'],
  probe: PROBE,
};
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('checkPlan', () => {
  it('takes a plan as a pass wrote it, and keeps only what it checked', () => {
    expect(checkPlan(clone(PLAN))).toEqual(PLAN);
    expect(checkPlan({ ...clone(PLAN), extra: 1, probe: { ...PROBE, junk: 'x' } })).toEqual(PLAN);
  });

  it.each([
    ['no plan', undefined, 'no sweep plan in the state file'],
    ['an array', [], 'no sweep plan in the state file'],
    ['no config identity', { ...PLAN, config: undefined }, 'sweep plan: bad config identity'],
    ['a config size as text', { ...PLAN, config: { ...PLAN.config, size: '812' } }, 'sweep plan: bad config identity'],
    ['no targets', { ...PLAN, targets: [] }, 'sweep plan: bad target list'],
    ['a target list that is not one', { ...PLAN, targets: '10.10.85.15' }, 'sweep plan: bad target list'],
    ['more targets than a cluster has', { ...PLAN, targets: Array(4097).fill('10.0.0.1') }, 'sweep plan: bad target list'],
    ['a host name', { ...PLAN, targets: ['10.10.85.15', 'scvm-2'] }, 'sweep plan: a target is not an IPv4 address'],
    ['no probe settings', { ...PLAN, probe: null }, 'sweep plan: no probe settings'],
    ['a missing setting', { ...PLAN, probe: { ...PROBE, minReplies: undefined } }, 'sweep plan: probe.minReplies is out of bounds'],
    ['count 0', { ...PLAN, probe: { ...PROBE, count: 0 } }, 'sweep plan: probe.count is out of bounds'],
    ['count 101', { ...PLAN, probe: { ...PROBE, count: 101 } }, 'sweep plan: probe.count is out of bounds'],
    ['a fraction', { ...PLAN, probe: { ...PROBE, intervalMs: 99.5 } }, 'sweep plan: probe.intervalMs is out of bounds'],
    ['a 60 s sweep', { ...PLAN, probe: { ...PROBE, timeoutMs: 60_000 } }, 'sweep plan: probe.timeoutMs is out of bounds'],
  ])('refuses %s', (_what, raw, why) => {
    expect(checkPlan(raw)).toBe(why);
  });

  it('takes every setting the config schema accepts, and nothing it refuses', () => {
    const setting = fc.record({
      count: fc.integer({ min: -5, max: 120 }),
      intervalMs: fc.integer({ min: -5, max: 12_000 }),
      waitMs: fc.integer({ min: 0, max: 12_000 }),
      timeoutMs: fc.integer({ min: 0, max: 40_000 }),
      minReplies: fc.integer({ min: 0, max: 120 }),
      payloadBytes: fc.integer({ min: -1, max: 70_000 }),
      mtu: fc.integer({ min: 0, max: 70_000 }),
      paceMs: fc.integer({ min: -1, max: 1200 }),
    });
    fc.assert(
      fc.property(setting, (probe) => {
        // every key has a value here, so the schema judges bounds only, as checkPlan does
        const inSchema = probeSchema.safeParse(probe).success;
        const taken = typeof checkPlan({ ...PLAN, probe }) !== 'string';
        return inSchema === taken;
      }),
    );
  });
});

describe('planDiffers', () => {
  const sweep = { targets: PLAN.targets, settings: PROBE };
  it('is null for the same targets in the same order and the same settings', () => {
    expect(planDiffers(sweep, [...PLAN.targets], { ...PROBE })).toBeNull();
  });
  it('names what differs', () => {
    expect(planDiffers(sweep, [...PLAN.targets].reverse(), PROBE)).toBe('the targets changed');
    expect(planDiffers(sweep, [...PLAN.targets, '10.10.85.18'], PROBE)).toBe('the targets changed');
    expect(planDiffers(sweep, PLAN.targets, { ...PROBE, waitMs: PROBE.waitMs + 1 })).toBe('probe.waitMs changed');
  });
});

describe('adoptSweep', () => {
  function early(targets: string[], settings: ProbeSettings) {
    const held: Array<[string, string]> = [];
    let pipedTo: Log | null = null;
    const handle: SweepHandle & { cancelled: number } = {
      targets,
      settings,
      done: Promise.resolve({}),
      cancelled: 0,
      cancel() {
        this.cancelled++;
      },
    };
    return {
      sweep: handle,
      log: {
        pipeTo(log: Log) {
          pipedTo = log;
          for (const [, m] of held) log.debug(m);
        },
      },
      held,
      pipedTo: () => pipedTo,
    };
  }

  it('no early sweep: null, the pass sweeps', () => {
    expect(adoptSweep(null, PLAN.targets, PROBE, recordingLog())).toBeNull();
  });

  it('takes over a sweep of exactly its targets and settings, with the lines it logged', () => {
    const e = early(PLAN.targets, PROBE);
    e.held.push(['debug', 'icmp: could not enlarge the receive buffer']);
    const log = recordingLog();
    expect(adoptSweep(e, [...PLAN.targets], { ...PROBE }, log)).toBe(e.sweep);
    expect(e.sweep.cancelled).toBe(0);
    expect(e.pipedTo()).toBe(log);
    expect(log.messages()).toEqual(['icmp: could not enlarge the receive buffer']);
  });

  it('cancels one that does not fit and says why', () => {
    const e = early(PLAN.targets, { ...PROBE, count: 5 });
    const log = recordingLog();
    expect(adoptSweep(e, PLAN.targets, PROBE, log)).toBeNull();
    expect(e.sweep.cancelled).toBe(1);
    expect(log.messages('debug')).toEqual([
      'icmp: the early sweep does not fit this pass (probe.count changed); sweeping again',
    ]);
  });
});
