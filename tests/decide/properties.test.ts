// Invariants over random timelines (fast-check), replayed through the real engine by the simulator, and over random
// single passes straight through decide().
import fc from 'fast-check';
import { decide } from '../../lib/decide/decide';
import { icmpOf } from '../../lib/decide/health';
import { simulate, type SimReport } from '../../lib/decide/simulate';
import { parseTimeline, type Timeline } from '../../lib/decide/timeline';
import type { Config } from '../../lib/config/schema';
import type { Pin } from '../../lib/types';
import { LOCAL, M15, M16, M17, R16, R17, T0, input, obs, passes, session, type ObsSpec } from './builders';

const IPS = [LOCAL, R16, R17];
/** no SCVM's address: only a --force pin may take the route there */
const FOREIGN = '10.10.85.99';
const DURATION = 900;

const scvmSet = fc.record(
  { icmp: fc.boolean(), session: fc.constantFrom('alive' as const, 'dead' as const, 'missing' as const) },
  { requiredKeys: [] },
);
/** ... and the SCVM's NFS service (issue 15 case 5), for timelines with the data-path check */
const scvmSetNfs = fc.record(
  { icmp: fc.boolean(), session: fc.constantFrom('alive' as const, 'dead' as const, 'missing' as const), nfs: fc.boolean() },
  { requiredKeys: [] },
);
const pinSet = fc.option(
  fc.record(
    { target: fc.constantFrom(...IPS, FOREIGN), force: fc.boolean(), forSec: fc.integer({ min: 1, max: 600 }) },
    { requiredKeys: ['target', 'force'] },
  ),
);
const eventOf = (set: typeof scvmSet) =>
  fc.record({
    at: fc.integer({ min: 0, max: DURATION - 1 }),
    set: fc.record(
      { scvms: fc.dictionary(fc.constantFrom(...IPS), set, { maxKeys: 3 }), api: fc.boolean(), reroute: fc.boolean(), pin: pinSet },
      { requiredKeys: ['scvms'] },
    ),
  });
const timelineArb = fc.record({
  durationSec: fc.constant(DURATION),
  passEverySec: fc.integer({ min: 1, max: 10 }),
  events: fc.array(eventOf(scvmSet), { maxLength: 25 }),
});
/** Timelines with NFS faults and the data-path check on (its window and avoid time drawn too). */
const nfsTimelineArb = fc.record({
  durationSec: fc.constant(DURATION),
  passEverySec: fc.integer({ min: 1, max: 10 }),
  config: fc.record({
    nfsCheck: fc.record({ enabled: fc.constant(true), failures: fc.integer({ min: 1, max: 4 }), avoidSec: fc.integer({ min: 0, max: 900 }) }),
  }),
  events: fc.array(eventOf(scvmSetNfs as unknown as typeof scvmSet), { maxLength: 25 }),
});
const BOTH = [
  ['timelines', timelineArb],
  ['timelines with NFS faults and the data-path check on', nfsTimelineArb],
] as const;

function run(raw: unknown): { t: Timeline; report: SimReport; cfg: ReturnType<typeof parse>['config'] } {
  const { timeline, config } = parse(raw);
  return { t: timeline, report: simulate(timeline, config), cfg: config };
}
function parse(raw: unknown) {
  const p = parseTimeline(raw);
  if (!p.ok) throw new Error(p.problems.join('; '));
  return p;
}

interface WorldAt {
  healthy: Set<string>;
  icmp: Map<string, boolean>;
  /** the NFS service of each SCVM answers */
  nfs: Map<string, boolean>;
  api: boolean;
  localIcmp: boolean;
  localSession: string;
  /** an operator pin was set at or before this second */
  pinnedEver: boolean;
  pin: { target: string; force: boolean } | null;
}

// The scripted world at each second, rebuilt independently of the simulator (the engine may clear a pin; this
// only tracks what the operator set).
function worldBySec(t: Timeline): WorldAt[] {
  const w = new Map(IPS.map((ip) => [ip, { icmp: true, session: 'alive' as string, nfs: true }]));
  let api = true;
  let pinnedEver = false;
  let pin: WorldAt['pin'] = null;
  const out: WorldAt[] = [];
  for (let s = 0; s < t.durationSec; s++) {
    for (const e of t.events) {
      if (e.at !== s) continue;
      for (const [ip, set] of Object.entries(e.set.scvms ?? {})) Object.assign(w.get(ip)!, set);
      if (e.set.api !== undefined) api = e.set.api;
      const p = e.set.pin;
      // `reroute route` refuses a pin (without --force) to an address that is no SCVM's or does not answer ping.
      if (p === null) pin = null;
      else if (p && (p.force || w.get(p.target)?.icmp === true)) {
        pin = { target: p.target, force: p.force };
        pinnedEver = true;
      }
    }
    const healthy = new Set(IPS.filter((ip) => w.get(ip)!.icmp && w.get(ip)!.session === 'alive'));
    const icmp = new Map(IPS.map((ip) => [ip, w.get(ip)!.icmp]));
    const nfs = new Map(IPS.map((ip) => [ip, w.get(ip)!.nfs]));
    out.push({ healthy, icmp, nfs, api, localIcmp: w.get(LOCAL)!.icmp, localSession: w.get(LOCAL)!.session, pinnedEver, pin });
  }
  return out;
}

/**
 * The SCVMs a healthy target may be found among at second `at`: healthy (ping, live session), and, with the data-path
 * check on, for a remote one, its path (ping and NFS) never dead in the last nfsCheck.avoidSec: a remote whose NFS the
 * engine found failed is avoided that long, and the world cannot tell whether the engine saw it.
 */
function targetsAt(world: WorldAt[], cfg: Config, at: number): Set<string> {
  const w = world[at]!;
  if (!cfg.nfsCheck.enabled) return w.healthy;
  const from = Math.max(0, at - cfg.nfsCheck.avoidSec);
  return new Set(
    [...w.healthy].filter((ip) => ip === LOCAL || world.slice(from, at + 1).every((x) => x.nfs.get(ip) && x.icmp.get(ip))),
  );
}

/** Every pass of the last `sec` seconds before `at` saw the local SCVM answer ping and no fresh list against it. */
function localFineFor(world: WorldAt[], t: Timeline, at: number, sec: number): boolean {
  if (at < sec) return false;
  for (let s = at - sec; s <= at; s++) {
    if (s % t.passEverySec !== 0) continue;
    const w = world[s]!;
    if (!w.localIcmp || (w.api && w.localSession !== 'alive')) return false;
  }
  return true;
}

/** The switch was made for a --force pin to that target. */
const forcedPin = (w: WorldAt, sw: { to: string; reason: string }) =>
  (sw.reason === 'pinned' || sw.reason === 'pinned-failing') && w.pin !== null && w.pin.force && w.pin.target === sw.to;

describe.each(BOTH)('engine invariants over random %s', (_name, arb) => {
  test('no row takes the route onto a target that fails ping in this pass, except the no-route fallback and a --force pin', () => {
    fc.assert(
      fc.property(arb, (raw) => {
        const { t, report } = run(raw);
        const world = worldBySec(t);
        for (const sw of report.switches) {
          const w = world[sw.atSec]!;
          if (w.icmp.get(sw.to) !== false && sw.to !== FOREIGN) continue;
          if (sw.reason === 'no-route-fallback') continue;
          if (forcedPin(w, sw)) continue;
          return false;
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });

  test('never routes to a target known dead while a healthy one exists (fresh list, at pass time), except a --force pin', () => {
    fc.assert(
      fc.property(arb, (raw) => {
        const { t, report, cfg } = run(raw);
        const world = worldBySec(t);
        for (const sw of report.switches) {
          const w = world[sw.atSec]!;
          // Known dead = no ping or a fresh list without a live session. A dead target is only acceptable
          // when nothing else is healthy (row 12 keeps the route) or the evidence is not fresh.
          if (w.api && !w.healthy.has(sw.to) && targetsAt(world, cfg, sw.atSec).size > 0 && !forcedPin(w, sw)) return false;
        }
        return true;
      }),
      { numRuns: 150 },
    );
  });

  test('the route goes back to the local SCVM before its required period only when no other target is usable, under a pin, or disabled off a failing target', () => {
    fc.assert(
      fc.property(arb, (raw) => {
        const { t, report, cfg } = run(raw);
        const world = worldBySec(t);
        for (const sw of report.switches) {
          if (sw.to !== LOCAL || sw.from === LOCAL) continue;
          const w = world[sw.atSec]!;
          const stable = sw.localHealthySec !== null && sw.localHealthySec >= sw.requiredStableSec;
          switch (sw.reason) {
            case 'local-stable':
            case 'reroute-disabled':
              // ... and the world agrees: the local SCVM was fine for at least the base period.
              if (!stable || !localFineFor(world, t, sw.atSec, cfg.decide.backToNormalSec)) return false;
              break;
            case 'remote-failed-go-local':
              // No period owed only when the local SCVM never failed: the route left it for a pin.
              if (!(stable && localFineFor(world, t, sw.atSec, cfg.decide.backToNormalSec)) && !w.pinnedEver) return false;
              break;
            case 'remote-failed-local-early':
              if (w.api && [...targetsAt(world, cfg, sw.atSec)].some((ip) => ip !== LOCAL)) return false;
              break;
            case 'reroute-disabled-move':
              if (w.icmp.get(sw.from) === true) return false;
              break;
            case 'pinned':
            case 'pinned-failing':
              if (w.pin?.target !== LOCAL) return false;
              break;
            default:
              return false;
          }
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});

describe('engine invariants over random timelines', () => {
  test('never more switches than health changes; never a pass without a route', () => {
    fc.assert(
      fc.property(timelineArb, (raw) => {
        const { report } = run(raw);
        if (report.switches.length > report.healthChanges) return false;
        return report.routeBySec.every((r) => r !== '');
      }),
      { numRuns: 150 },
    );
  });

  test('deterministic: the same timeline gives the same report', () => {
    fc.assert(
      fc.property(timelineArb, (raw) => {
        const a = run(raw).report;
        const b = run(JSON.parse(JSON.stringify(raw))).report;
        expect(b).toEqual(a);
      }),
      { numRuns: 50 },
    );
  });
});

describe('issue 15 case 5: the NFS data path over random timelines', () => {
  test('no false verdict: the route leaves the local SCVM for NFS only after its path failed that many checks in a row', () => {
    fc.assert(
      fc.property(nfsTimelineArb, (raw) => {
        const { t, report, cfg } = run(raw);
        const world = worldBySec(t);
        for (const sw of report.switches.filter((s) => s.reason === 'local-nfs-down')) {
          for (let k = 0; k < cfg.nfsCheck.failures; k++) {
            const w = world[sw.atSec - k * t.passEverySec];
            if (!w || (w.nfs.get(LOCAL) && w.icmp.get(LOCAL))) return false;
          }
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });

  test('with the check off (the default), NFS faults move nothing: the same route, second by second, as without them', () => {
    fc.assert(
      fc.property(nfsTimelineArb, (raw) => {
        const off = { ...raw, config: { nfsCheck: { ...raw.config.nfsCheck, enabled: false } } };
        const without = {
          ...off,
          events: off.events.map((e) => ({
            ...e,
            set: { ...e.set, scvms: Object.fromEntries(Object.entries(e.set.scvms).map(([ip, v]) => [ip, { ...v, nfs: undefined }])) },
          })),
        };
        const a = run(JSON.parse(JSON.stringify(off))).report;
        const b = run(JSON.parse(JSON.stringify(without))).report;
        expect(a.routeBySec).toEqual(b.routeBySec);
        expect(a.switches).toEqual(b.switches);
      }),
      { numRuns: 100 },
    );
  });
});

// One random pass after a few random ones: every address, route shape, list, switch and pin the engine may meet.
const ADDRS = [LOCAL, R16, R17, M16, M17, FOREIGN];
const specArb: fc.Arbitrary<ObsSpec> = fc.record({
  up: fc.dictionary(fc.constantFrom(...ADDRS), fc.boolean()),
  sessions: fc.oneof(
    fc.constant('api-down' as const),
    fc.subarray([LOCAL, R16, R17]).chain((ips) => fc.tuple(...ips.map((ip) => fc.boolean().map((alive) => session(ip, alive))))),
  ),
  switches: fc.option(fc.record({ enableReroute: fc.boolean(), enableSecondaryDataChannel: fc.boolean() })),
  route: fc.oneof(fc.constant('unreadable' as const), fc.subarray(ADDRS, { maxLength: 2 })),
  nfs: fc.option(fc.boolean(), { nil: undefined }),
});
const pinArb: fc.Arbitrary<Pin | null> = fc.option(
  fc.record({
    target: fc.constantFrom(...ADDRS),
    until: fc.option(fc.integer({ min: T0 - 60_000, max: T0 + 600_000 })),
    setAt: fc.constant(T0 - 120_000),
    force: fc.boolean(),
  }),
);

describe('engine invariants over random single passes', () => {
  test('a decision never moves the route onto an address that fails ping, except the no-route fallback and a --force pin', () => {
    fc.assert(
      fc.property(fc.array(specArb, { maxLength: 4 }), specArb, pinArb, fc.integer({ min: 0, max: 120 }), fc.boolean(), (before, spec, pin, grace, nfsOn) => {
        const base = input().config;
        const cfg = { ...base, decide: { ...base.decide, pinGraceSec: grace }, nfsCheck: { ...base.nfsCheck, enabled: nfsOn, failures: 2 } };
        let state = input().state;
        before.forEach((b, i) => {
          state = decide(input({ obs: obs(b), state, pin, config: cfg, now: T0 - (before.length - i) * 5000 })).state;
        });
        const o = obs(spec);
        const { decision } = decide(input({ obs: o, state, pin, config: cfg, now: T0 }));
        if (!decision.change || decision.from.includes(decision.nextHop)) return true;
        if (icmpOf(o.probes, decision.target) !== 'down') return true;
        return decision.reason === 'no-route-fallback' || (decision.row === 2 && pin?.force === true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('chunk service restarting every 20 s for 10 minutes', () => {
  test('exactly one switch out and one back, after the local SCVM has been stable', () => {
    const raw = {
      durationSec: 3600,
      passEverySec: 5,
      events: [
        { at: 61, every: 20, until: 661, set: { local: { session: 'dead' } } },
        { at: 69, every: 20, until: 669, set: { local: { session: 'alive' } } },
      ],
    };
    const { report } = run(raw);
    expect(report.switches.map((s) => [s.from, s.to, s.reason])).toEqual([
      [LOCAL, R16, 'local-session-dead'],
      [R16, LOCAL, 'local-stable'],
    ]);
    const lastRecovery = 649; // last "alive" event
    expect(report.switches[1]!.atSec - lastRecovery).toBeGreaterThanOrEqual(180);
  });
});

// issue 27: which SCVM each sighting of the local session missing came from (lib/decide/local.ts)
describe('session confirmation by the lists\' SCVMs, over random sequences of lists (5 s apart, local answers ping)', () => {
  const lacking = (from: string): ObsSpec => ({ sessions: [session(R16), session(R17)], listFrom: from });
  const firstDown = (specs: ObsSpec[]) => passes(specs).results.findIndex((d) => d.reason === 'local-session-missing');

  test('one SCVM\'s partial lists, never two in a row, between other SCVMs\' full ones: the local SCVM is never down', () => {
    // each step: a full list from the local SCVM or R16, optionally followed by a partial one from R17
    const step = fc.record({ full: fc.constantFrom(M15, M16), partialAfter: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const specs = steps.flatMap(({ full, partialAfter }): ObsSpec[] => [{ listFrom: full }, ...(partialAfter ? [lacking(M17)] : [])]);
        return firstDown(specs) === -1;
      }),
      { numRuns: 300 },
    );
  });

  test('lists from one SCVM alone: down at the first list that makes two sightings within decide.sessionConfirmSec, as before', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (bad) => {
        const specs = bad.map((b): ObsSpec => (b ? lacking(M15) : { listFrom: M15 }));
        // the rule before issue 27: a list showing it alive never resets the count (5 s a pass, a 60 s window)
        const expected = bad.findIndex((b, i) => b && bad.slice(Math.max(0, i - 12), i).some(Boolean));
        return firstDown(specs) === expected;
      }),
      { numRuns: 300 },
    );
  });
});
