// Invariants over random timelines (fast-check), replayed through the real engine by the simulator.
import fc from 'fast-check';
import { simulate, type SimReport } from '../../lib/decide/simulate';
import { parseTimeline, type Timeline } from '../../lib/decide/timeline';
import { LOCAL, R16, R17 } from './builders';

const IPS = [LOCAL, R16, R17];
const DURATION = 900;

const scvmSet = fc.record(
  { icmp: fc.boolean(), session: fc.constantFrom('alive' as const, 'dead' as const, 'missing' as const) },
  { requiredKeys: [] },
);
const event = fc.record({
  at: fc.integer({ min: 0, max: DURATION - 1 }),
  set: fc.record(
    { scvms: fc.dictionary(fc.constantFrom(...IPS), scvmSet, { maxKeys: 3 }), api: fc.boolean() },
    { requiredKeys: ['scvms'] },
  ),
});
const timelineArb = fc.record({
  durationSec: fc.constant(DURATION),
  passEverySec: fc.integer({ min: 1, max: 10 }),
  events: fc.array(event, { maxLength: 25 }),
});

function run(raw: unknown): { t: Timeline; report: SimReport; cfg: ReturnType<typeof parse>['config'] } {
  const { timeline, config } = parse(raw);
  return { t: timeline, report: simulate(timeline, config), cfg: config };
}
function parse(raw: unknown) {
  const p = parseTimeline(raw);
  if (!p.ok) throw new Error(p.problems.join('; '));
  return p;
}

// The scripted world at each second, rebuilt independently of the simulator.
function worldBySec(t: Timeline) {
  const w = new Map(IPS.map((ip) => [ip, { icmp: true, session: 'alive' as string }]));
  let api = true;
  const out: { healthy: Set<string>; api: boolean; localIcmp: boolean; localSession: string }[] = [];
  for (let s = 0; s < t.durationSec; s++) {
    for (const e of t.events) {
      if (e.at !== s) continue;
      for (const [ip, set] of Object.entries(e.set.scvms ?? {})) Object.assign(w.get(ip)!, set);
      if (e.set.api !== undefined) api = e.set.api;
    }
    const healthy = new Set(IPS.filter((ip) => w.get(ip)!.icmp && w.get(ip)!.session === 'alive'));
    out.push({ healthy, api, localIcmp: w.get(LOCAL)!.icmp, localSession: w.get(LOCAL)!.session });
  }
  return out;
}

describe('engine invariants over random timelines', () => {
  test('never routes to a target known dead while a healthy one exists (fresh list, at pass time)', () => {
    fc.assert(
      fc.property(timelineArb, (raw) => {
        const { t, report } = run(raw);
        const world = worldBySec(t);
        for (const sw of report.switches) {
          const w = world[sw.atSec]!;
          // Known dead = no ping or a fresh list without a live session. A dead target is only acceptable
          // when nothing else is healthy (rule 8 keeps the route) or the evidence is not fresh.
          if (w.api && !w.healthy.has(sw.to) && w.healthy.size > 0) return false;
        }
        return true;
      }),
      { numRuns: 150 },
    );
  });

  test('never goes back to local before the stable period while the remote still works', () => {
    fc.assert(
      fc.property(timelineArb, (raw) => {
        const { t, report, cfg } = run(raw);
        const world = worldBySec(t);
        for (const sw of report.switches) {
          if (sw.reason !== 'local-stable') continue;
          if (sw.atSec < cfg.decide.backToNormalSec) return false;
          // every pass of the last backToNormalSec saw local answer ping and no fresh list against it
          for (let s = sw.atSec - cfg.decide.backToNormalSec; s <= sw.atSec; s++) {
            if (s % t.passEverySec !== 0) continue;
            const w = world[s]!;
            if (!w.localIcmp || (w.api && w.localSession !== 'alive')) return false;
          }
        }
        // every return to local while the current remote was healthy went through the stable rule
        return report.switches.every(
          (sw) => sw.to !== LOCAL || sw.reason === 'local-stable' || !world[sw.atSec]!.healthy.has(sw.from) || !world[sw.atSec]!.api,
        );
      }),
      { numRuns: 150 },
    );
  });

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
