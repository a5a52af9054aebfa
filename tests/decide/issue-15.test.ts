// Issue 15 ("Decision engine: what a red team found"), cases 1-5: each case as whole decisions, states and timelines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decide } from '../../lib/decide/decide';
import { simulate } from '../../lib/decide/simulate';
import { engineRecordSchema, engineStateSchema, initialEngineState, type EngineState } from '../../lib/decide/state';
import { parseTimeline } from '../../lib/decide/timeline';
import { pinSchema } from '../../lib/state/schema';
import type { Pin } from '../../lib/types';
import { LOCAL, M15, M16, M17, R16, R17, T0, config, engineState, input, passes, row, session, type ObsSpec } from './builders';

const EXAMPLES = join(__dirname, '../../examples/timelines');

function replay(raw: unknown) {
  const p = parseTimeline(raw);
  if (!p.ok) throw new Error(p.problems.join('; '));
  const report = simulate(p.timeline, p.config);
  return { ...report, moves: report.switches.map((s) => [s.atSec, s.from, s.to, s.reason]) };
}
const example = (name: string) => replay(JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), 'utf8')));

const oneRelapse = { penalty: 1, penaltyAt: T0 - 400_000, relapses: [T0 - 400_000] };
const healthyFor = (sec: number) => ({ down: false, healthySince: T0 - sec * 1000, downSince: null, sessionBadAt: [], sessionBadBy: {} });
const localDown = { down: true, healthySince: null, downSince: T0 - 60_000, sessionBadAt: [], sessionBadBy: {} };

describe('issue 15 case 1: row 9 (remote-failed-go-local) skipped the stable period and the damping', () => {
  test('chunk-flapping plus a one-pass ICMP loss of the current remote: remote to remote, back only when stable', () => {
    const r = example('chunk-flapping-remote-blip');
    expect(r.moves).toEqual([
      [85, LOCAL, R16, 'local-session-dead'],
      [300, R16, R17, 'remote-failed-move'],
      [1245, R17, LOCAL, 'local-stable'],
    ]);
    // Before the fix the route went back to the flapping local SCVM at 300 s and out again at 305 s.
    expect(r.routeBySec.slice(300, 1245).every((hop) => hop === R17)).toBe(true);
  });

  test('a failed remote with another usable remote: that remote, whole decision and state', () => {
    const state = engineState({ target: R16, local: healthyFor(30), damping: oneRelapse });
    const { decision, state: next } = decide(input({ state, spec: { up: { [R16]: false }, route: [R16] } }));
    expect(row(decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
    expect(decision.localHealthySec).toBe(30);
    expect(decision.requiredStableSec).toBe(180);
    expect(next.local).toEqual(healthyFor(30));
    expect(next.damping).toEqual(oneRelapse);
  });

  test('local early only when no other remote is usable, and said so', () => {
    const state = engineState({ target: R16, local: healthyFor(30), damping: oneRelapse });
    const { decision } = decide(input({ state, spec: { up: { [R16]: false, [R17]: false }, route: [R16] } }));
    expect(row(decision)).toEqual({ row: 10, reason: 'remote-failed-local-early', target: LOCAL, nextHop: LOCAL, change: true });
  });

  test('a local SCVM healthy for its required period (damping included) is taken at once when the remote fails', () => {
    const damped = { penalty: 2, penaltyAt: T0, relapses: [T0 - 1000, T0] }; // needs 360 s
    const early = decide(input({ state: engineState({ local: healthyFor(300), damping: damped }), spec: { up: { [R16]: false }, route: [R16] } }));
    expect(row(early.decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
    const stable = decide(input({
      state: engineState({ local: healthyFor(400), damping: damped }),
      spec: { up: { [R16]: false }, route: [R16], sessions: 'api-down' },
    }));
    expect(row(stable.decision)).toEqual({ row: 10, reason: 'remote-failed-go-local', target: LOCAL, nextHop: LOCAL, change: true });
  });
});

describe('issue 15 case 2: enable_reroute off during a failure moved the route onto the dead local SCVM', () => {
  const off = { enableReroute: false, enableSecondaryDataChannel: false };

  test('the timeline: stays on the remote while the local SCVM is dead, moves only off a failing target', () => {
    const r = example('reroute-disabled-during-failure');
    expect(r.moves).toEqual([
      [15, LOCAL, R16, 'local-icmp-down'],
      [60, R16, R17, 'reroute-disabled-move'],
      [280, R17, LOCAL, 'reroute-disabled'],
    ]);
    expect(r.deadPathSec).toBe(6); // 11-14 s (crash to first pass) and 58-59 s (R16 dies, next pass at 60 s)
  });

  test('disabled with the local SCVM dead: the route is never moved onto it, pass after pass', () => {
    const specs: ObsSpec[] = Array.from({ length: 30 }, () => ({ up: { [LOCAL]: false }, route: [R16], switches: off }));
    const { results, state } = passes(specs, { state: engineState({ target: R16, local: localDown }) });
    expect(new Set(results.map((d) => `${d.row} ${d.reason} ${d.target} ${d.change}`))).toEqual(new Set([`1 reroute-disabled ${R16} false`]));
    expect(state.local.down).toBe(true);
  });

  test('disabled and on the local SCVM when it dies: no switch away from it', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false }, route: [LOCAL], switches: off } }));
    expect(row(decision)).toEqual({ row: 1, reason: 'reroute-disabled', target: LOCAL, nextHop: LOCAL, change: false });
  });

  test('disabled, the current target fails ping and the local SCVM answers but is suspect: a healthy remote first', () => {
    const { decision } = decide(input({
      spec: { up: { [R16]: false }, route: [R16], switches: off, sessions: [session(R16), session(R17)] },
    }));
    expect(row(decision)).toEqual({ row: 1, reason: 'reroute-disabled-move', target: R17, nextHop: R17, change: true });
  });
});

describe('issue 15 case 3: a pin whose target dies was kept forever, with no warning', () => {
  const pin: Pin = { target: R17, until: null, setAt: T0 - 600_000 };
  const r17Dead: ObsSpec = { up: { [R17]: false, [M17]: false }, route: [R17], sessions: [session(LOCAL), session(R16)] };

  test('the pin holds for the grace time with a rate-limited warning, then LOOP takes over and clears it', () => {
    // the pin moved the route to R17 ten minutes ago and its session was refreshed there then
    let state: EngineState = engineState({ target: R17, refreshed: { target: R17, sessionId: 's-17', at: T0 - 600_000 } });
    const seen: { at: number; row: number; reason: string; target: string; clearPin: boolean; warnings: string[] }[] = [];
    for (let sec = 0; sec <= 60; sec += 5) {
      const r = decide(input({ state, pin, now: T0 + sec * 1000, spec: r17Dead }));
      state = r.state;
      const d = r.decision;
      seen.push({ at: sec, row: d.row, reason: d.reason, target: d.target, clearPin: d.clearPin, warnings: d.warnings });
      if (sec === 0) {
        expect(d.pinTargetFailing).toEqual({
          target: R17, why: `${R17} does not answer ping`, since: T0, force: false, graceEndsAt: T0 + 60_000, cleared: false,
        });
        expect(state.pinWatch).toEqual({ target: R17, failingSince: T0 });
      }
    }
    const held = seen.slice(0, 12);
    expect(new Set(held.map((s) => `${s.row} ${s.reason} ${s.target} ${s.clearPin}`))).toEqual(new Set([`2 pinned-failing ${R17} false`]));
    expect(held[0]!.warnings).toEqual([
      `pinned target ${R17} does not answer ping (for 0 s): the pin holds for 60 s more, then LOOP takes over if a healthy target exists`,
    ]);
    expect(held.slice(1).every((s) => s.warnings.length === 0)).toBe(true); // once a minute at most
    const last = seen[12]!;
    expect(last).toMatchObject({ at: 60, row: 10, reason: 'remote-failed-go-local', target: LOCAL, clearPin: true });
    expect(last.warnings).toEqual([
      `pin to ${R17} cleared (${R17} does not answer ping for 60 s, grace 60 s); LOOP: current target ${R17} does not answer ping; local SCVM ${LOCAL} answers ping and its session is alive and has not failed before: going to the local SCVM`,
    ]);
    expect(state.pinWatch).toBeNull();
  });

  test('past the grace time with no healthy target to take over, the pin stays and keeps warning', () => {
    const allDead: ObsSpec = { up: { [LOCAL]: false, [R16]: false, [R17]: false }, route: [R17] };
    const state = engineState({ target: R17, pinWatch: { target: R17, failingSince: T0 - 120_000 }, local: localDown });
    const { decision, state: next } = decide(input({ state, pin, spec: allDead }));
    expect(row(decision)).toEqual({ row: 12, reason: 'no-healthy-target', target: R17, nextHop: R17, change: false });
    expect(decision.clearPin).toBe(false);
    expect(decision.warnings).toContain(`pinned target ${R17} does not answer ping (for 120 s): no healthy target to take over, the pin stays`);
    expect(next.pinWatch).toEqual({ target: R17, failingSince: T0 - 120_000 });
  });

  test('a --force pin stays on its failing target and keeps warning', () => {
    const forced: Pin = { ...pin, force: true };
    const refreshed = { target: R17, sessionId: 's-17', at: T0 - 3_700_000 };
    const state = engineState({ target: R17, refreshed, pinWatch: { target: R17, failingSince: T0 - 3_600_000 } });
    const { decision } = decide(input({ state, pin: forced, spec: r17Dead }));
    expect(row(decision)).toEqual({ row: 2, reason: 'pinned-failing', target: R17, nextHop: R17, change: false });
    expect(decision.clearPin).toBe(false);
    expect(decision.pinTargetFailing).toMatchObject({ force: true, graceEndsAt: null, since: T0 - 3_600_000 });
    expect(decision.warnings).toEqual([
      `pinned target ${R17} does not answer ping (for 3600 s): a --force pin stays; \`reroute route --auto\` hands the route back to LOOP`,
    ]);
  });

  test('a pin never moves the route onto a failing target (without --force): LOOP keeps it meanwhile', () => {
    const { decision } = decide(input({ pin, spec: { ...r17Dead, route: [LOCAL] } }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false });
    expect(decision.pinTargetFailing).toMatchObject({ target: R17, cleared: false });
    const forced = decide(input({ pin: { ...pin, force: true }, spec: { ...r17Dead, route: [LOCAL] } })).decision;
    expect(row(forced)).toEqual({ row: 2, reason: 'pinned-failing', target: R17, nextHop: R17, change: true });
  });

  test('a pinned SCVM missing from the session list counts as failing (as a remote target would)', () => {
    const { decision } = decide(input({ pin, spec: { sessions: [session(LOCAL), session(R16)] } }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false });
    expect(decision.pinTargetFailing).toMatchObject({ target: R17, why: `the SCVM behind ${R17} has no live session` });
  });

  test('a target that answers again resets the grace time', () => {
    const state = engineState({ target: R17, pinWatch: { target: R17, failingSince: T0 - 50_000 } });
    const { decision, state: next } = decide(input({ state, pin, spec: { route: [R17] } }));
    expect(row(decision)).toEqual({ row: 2, reason: 'pinned', target: R17, nextHop: R17, change: false });
    expect(decision.pinTargetFailing).toBeNull();
    expect(next.pinWatch).toEqual({ target: R17, failingSince: null });
  });

  test('the timeline: held 60 s, then cleared and back to the healthy local SCVM', () => {
    const r = example('pin-target-dies');
    expect(r.moves).toEqual([[30, LOCAL, R17, 'pinned'], [185, R17, LOCAL, 'local-stable']]);
    expect(r.switches[1]!.because).toMatch(/^pin to 10\.10\.85\.17 cleared \(10\.10\.85\.17 does not answer ping for 60 s, grace 60 s\); LOOP: /);
  });

  test('the same timeline with a --force pin: the route stays on the dead target', () => {
    const raw = JSON.parse(readFileSync(join(EXAMPLES, 'pin-target-dies.json'), 'utf8'));
    raw.events[0].set.pin.force = true;
    const r = replay(raw);
    expect(r.moves).toEqual([[30, LOCAL, R17, 'pinned']]);
    expect(r.finalState.pinWatch).toEqual({ target: R17, failingSince: T0 + 125_000 });
  });

  test('state files written before: a pin without force and an engine slice without pinWatch still load', () => {
    expect(pinSchema.parse({ target: R17, until: null, setAt: 1 })).toEqual({ target: R17, until: null, setAt: 1 });
    const { pinWatch: _p, ...old } = initialEngineState();
    expect(engineStateSchema.parse(old)).toEqual(initialEngineState());
  });
});

describe('issue 15 case 4: one session list moved the route', () => {
  const missing: ObsSpec = { sessions: [session(R16), session(R17)] };

  test('one list without the local session (local answers ping): no switch, the sighting is kept', () => {
    const { decision, state } = decide(input({ spec: missing }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-session-unconfirmed', target: LOCAL, nextHop: LOCAL, change: false });
    expect(decision.because).toBe(
      `local SCVM ${LOCAL} answers ping but the session list has no session for it (not confirmed: 1 of 2 fresh lists within 60 s): one session list is not enough to switch (ping loss would be)`,
    );
    expect(state.local).toEqual({ down: false, healthySince: null, downSince: null, sessionBadAt: [T0], sessionBadBy: { [M16]: T0 } });
    expect(state.damping.relapses).toEqual([]);
  });

  test('a second fresh list confirms it: the switch, and one relapse', () => {
    const { results, state } = passes([missing, missing]);
    expect(results.map(row)).toEqual([
      { row: 4, reason: 'local-session-unconfirmed', target: LOCAL, nextHop: LOCAL, change: false },
      { row: 5, reason: 'local-session-missing', target: R16, nextHop: R16, change: true },
    ]);
    expect(state.local).toEqual({
      down: true, healthySince: null, downSince: T0 + 5000, sessionBadAt: [T0, T0 + 5000], sessionBadBy: { [M16]: T0 + 5000 },
    });
    expect(state.damping.relapses).toEqual([T0 + 5000]);
  });

  test('a list showing it alive in between does not reset the count (a chunk service restarting between lists)', () => {
    const { results } = passes([missing, {}, missing]);
    expect(results.map((d) => d.reason)).toEqual(['local-session-unconfirmed', 'local-ok', 'local-session-missing']);
  });

  test('sightings older than decide.sessionConfirmSec do not count; an API outage is no sighting', () => {
    const { results } = passes([missing, { sessions: 'api-down' }, missing], { stepSec: 31 });
    expect(results.map((d) => d.reason)).toEqual(['local-session-unconfirmed', 'local-unconfirmed', 'local-session-unconfirmed']);
  });

  test('ICMP loss stays the fast path', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false }, sessions: [session(R16), session(R17)] } }));
    expect(row(decision)).toEqual({ row: 5, reason: 'local-icmp-down', target: R16, nextHop: R16, change: true });
  });

  test('decide.sessionConfirmLists = 1 switches on one list, as before', () => {
    const cfg = config({ decide: { sessionConfirmLists: 1 } });
    const { decision } = decide(input({ config: cfg, spec: missing }));
    expect(row(decision)).toEqual({ row: 5, reason: 'local-session-missing', target: R16, nextHop: R16, change: true });
  });

  test('an unconfirmed sighting breaks the healthy streak while rerouted', () => {
    const state = engineState({ target: R16, local: healthyFor(170), damping: oneRelapse });
    const { results } = passes([{ ...missing, route: [R16] }, { route: [R16] }], { state });
    expect(results.map((d) => [d.reason, d.localHealthySec])).toEqual([['remote-ok', null], ['remote-ok', 0]]);
  });

  test('the timeline: a one-pass partial list and one SCVM\'s partial lists move nothing; a real session loss moves at the second list', () => {
    // before issue 27 also a switch at 150 s, R17's second partial list (a healthy host moved)
    const r = example('partial-session-list');
    expect(r.moves).toEqual([[410, LOCAL, R16, 'local-session-dead']]);
  });

  test('state files written before: an engine slice without sessionBadAt still loads', () => {
    const s = initialEngineState();
    const { sessionBadAt: _s, sessionBadBy: _b, ...oldLocal } = s.local;
    expect(engineStateSchema.parse({ ...s, local: oldLocal })).toEqual(s);
  });
});

// issue 27: one SCVM's partial lists. The race hedges to another SCVM when the local one answers late, so lists from
// an SCVM that lacks the local session can fall between the local SCVM's full ones; before, every one of them counted.
describe('issue 27: one SCVM\'s partial session lists move no healthy host', () => {
  const partial: ObsSpec = { sessions: [session(R16), session(R17)], listFrom: M17 };
  const full: ObsSpec = { listFrom: M15 };

  test('an SCVM whose lists lack the local session, between the local SCVM\'s full lists: never confirmed', () => {
    const { results, state } = passes([partial, full, partial, full, partial, full, partial]);
    // the code before: local-session-missing (a switch to R16) at the second partial list
    expect(results.map((d) => d.reason)).toEqual([
      'local-session-unconfirmed', 'local-ok', 'local-session-unconfirmed', 'local-ok',
      'local-session-unconfirmed', 'local-ok', 'local-session-unconfirmed',
    ]);
    expect(results.every((d) => !d.change)).toBe(true);
    expect(state.local).toMatchObject({ down: false, sessionBadAt: [T0 + 30_000], sessionBadBy: { [M17]: T0 + 30_000 } });
  });

  test('two partial lists in a row from that SCVM still confirm (as one list cannot tell them from a dead session)', () => {
    const { results } = passes([partial, partial]);
    expect(results.map((d) => d.reason)).toEqual(['local-session-unconfirmed', 'local-session-missing']);
  });

  test('a chunk restart seen alike by every SCVM: caught though the lists alternate between two SCVMs', () => {
    // restarts at 0, 10 and 20 s; lists from the local SCVM and R16 by turns. The live list from R16 at 5 s resets the
    // count (R16 had not shown it missing); from 10 s on both have, and nothing resets it: confirmed at the third restart
    const missingFrom = (from: string): ObsSpec => ({ sessions: [session(R16), session(R17)], listFrom: from });
    const { results } = passes([missingFrom(M15), { listFrom: M16 }, missingFrom(M16), { listFrom: M15 }, missingFrom(M15)]);
    expect(results.map((d) => d.reason)).toEqual([
      'local-session-unconfirmed', 'local-ok', 'local-session-unconfirmed', 'local-ok', 'local-session-missing',
    ]);
  });

  test('a sighting past decide.sessionConfirmSec no longer names its SCVM: that SCVM\'s live list resets again', () => {
    const { results, state } = passes([partial, { listFrom: M17 }, { listFrom: M17 }], { stepSec: 31 });
    expect(results.map((d) => d.reason)).toEqual(['local-session-unconfirmed', 'local-ok', 'local-ok']);
    expect(state.local).toMatchObject({ sessionBadAt: [], sessionBadBy: {} });
  });

  test('state files written before: sightings without their SCVM count, and a live list from any SCVM resets them', () => {
    const old = { down: false, healthySince: null, downSince: null, sessionBadAt: [T0 - 5000] };
    const loaded = engineStateSchema.parse({ ...initialEngineState(), local: old });
    expect(loaded.local).toEqual({ ...old, sessionBadBy: {} });
    expect(passes([partial], { state: loaded }).results.map((d) => d.reason)).toEqual(['local-session-missing']);
    expect(passes([full, partial], { state: loaded }).results.map((d) => d.reason)).toEqual(['local-ok', 'local-session-unconfirmed']);
  });
});

describe('issue 15 case 5: no check of the NFS data path', () => {
  const on = config({ nfsCheck: { enabled: true } });
  const nfsFails: ObsSpec = { nfs: false };
  const run = (specs: ObsSpec[], opts: Parameters<typeof passes>[1] = {}) => passes(specs, { cfg: on, ...opts });

  test('the timeline: the local NFS dies while ping and session are fine; the route leaves at the third failed check', () => {
    const r = example('nfs-down');
    expect(r.moves).toEqual([
      [75, LOCAL, R16, 'local-nfs-down'],
      // the local SCVM's NFS cannot be checked from elsewhere: back after the stable period, out again (damping)
      [260, R16, LOCAL, 'local-stable'],
      [275, LOCAL, R16, 'local-nfs-down'],
      [540, R16, LOCAL, 'local-stable'],
      [555, LOCAL, R16, 'local-nfs-down'],
      [900, R16, LOCAL, 'local-stable'],
    ]);
    expect(r.deadPathSec).toBe(44);
  });

  test('the same timeline with the check off: nothing moves, 540 s on a dead path', () => {
    const raw = JSON.parse(readFileSync(join(EXAMPLES, 'nfs-down.json'), 'utf8'));
    raw.config = { nfsCheck: { enabled: false } };
    const r = replay(raw);
    expect(r.moves).toEqual([]);
    expect(r.deadPathSec).toBe(540);
  });

  test('failures over a window, not one: two failed checks keep the route and warn; the third moves it, one relapse', () => {
    const { results, state } = run([nfsFails, nfsFails, nfsFails]);
    expect(results.map(row)).toEqual([
      { row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false },
      { row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false },
      { row: 5, reason: 'local-nfs-down', target: R16, nextHop: R16, change: true },
    ]);
    expect(results[0]!.warnings).toEqual([
      `NFS data path via ${LOCAL}: 1 of 3 checks in a row failed, the last: no answer from 192.168.33.2:2049 within 2000 ms`,
    ]);
    expect(results[2]!.local).toBe('nfs-down');
    expect(results[2]!.because).toBe(
      `local SCVM ${LOCAL} answers ping but not NFS (3 checks in a row failed, the last: no answer from 192.168.33.2:2049 within 2000 ms): switching to ${R16} (slot of this host when 1 host(s) without a usable SCVM share 2 usable SCVM(s))`,
    );
    expect(state.local).toMatchObject({ down: true, downSince: T0 + 10_000, healthySince: null });
    expect(state.damping.relapses).toEqual([T0 + 10_000]);
    expect(state.record.nfsRun).toEqual({ target: LOCAL, failed: 3, lastAt: T0 + 10_000 });
    // the local SCVM is not avoided: its stable period and flap damping decide the return
    expect(state.record.nfsAvoid).toEqual({});
  });

  test('an answered check ends the run; a check that could not be made neither counts nor ends it', () => {
    const eperm: ObsSpec = { nfs: { result: 'unknown', why: 'cannot connect to 192.168.33.2:2049 from this host (EPERM)' } };
    const { results } = run([nfsFails, nfsFails, { nfs: true }, nfsFails, eperm, eperm, nfsFails, eperm, nfsFails]);
    expect(results.map((d) => d.reason)).toEqual([
      'local-ok', 'local-ok', 'local-ok', 'local-ok', 'local-ok', 'local-ok', 'local-ok', 'local-ok', 'local-nfs-down',
    ]);
    expect(results[4]!.warnings).toEqual([
      'the NFS data-path check could not be made (cannot connect to 192.168.33.2:2049 from this host (EPERM)); it never counts against a target',
    ]);
  });

  test('a check that cannot be made is never down, however long it lasts', () => {
    const eperm: ObsSpec = { nfs: { result: 'unknown', why: 'EPERM' } };
    const { results, state } = run(Array.from({ length: 40 }, () => eperm));
    expect(new Set(results.map((d) => d.reason))).toEqual(new Set(['local-ok']));
    expect(state.local.down).toBe(false);
  });

  test('checks further apart than nfsCheck.forgetAfterSec are not in a row', () => {
    const { results } = run([nfsFails, nfsFails, nfsFails], { stepSec: 61 });
    expect(results.map((d) => d.reason)).toEqual(['local-ok', 'local-ok', 'local-ok']);
  });

  test('the checks count for the target they went through: a new target starts a new run', () => {
    const { results, state } = run([nfsFails, nfsFails, { ...nfsFails, route: [R16] }, { ...nfsFails, route: [R16] }], {
      state: engineState({ local: healthyFor(30), damping: oneRelapse }),
    });
    expect(results.map((d) => d.reason)).toEqual(['local-ok', 'local-ok', 'remote-ok', 'remote-ok']);
    expect(state.record.nfsRun).toEqual({ target: R16, failed: 2, lastAt: T0 + 15_000 });
  });

  test('a believed route (the route could not be read) is no evidence: the check is not counted', () => {
    const { results, state } = run([nfsFails, nfsFails, { ...nfsFails, route: 'unreadable' }], { state: engineState({ target: LOCAL }) });
    expect(results[2]!.reason).toBe('local-ok');
    expect(state.record.nfsRun).toEqual({ target: LOCAL, failed: 2, lastAt: T0 + 5000 });
  });

  test('a remote target whose NFS fails: remote to remote, and that SCVM is no target for nfsCheck.avoidSec', () => {
    const onR16 = { route: [R16] };
    const state = engineState({ target: R16, local: healthyFor(30), damping: oneRelapse });
    const out = run([{ ...onR16, nfs: false }, { ...onR16, nfs: false }, { ...onR16, nfs: false }], { state });
    expect(out.results.map(row)[2]).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
    expect(out.results[2]!.because).toMatch(new RegExp(`^current target ${R16} does not answer NFS \\(3 checks in a row failed`));
    expect(out.state.record.nfsAvoid).toEqual({ [R16]: T0 + 10_000 });

    // On R17 (its NFS unknown: it is never checked before the route goes there), R17 then loses ping: R16 answers
    // ping and has a live session but its NFS failed 5 s ago: not a target; the local SCVM is taken early instead.
    const r17Dead = { route: [R17], up: { [R17]: false } };
    const soon = decide(input({ config: on, state: out.state, now: T0 + 15_000, spec: r17Dead }));
    expect(row(soon.decision)).toEqual({ row: 10, reason: 'remote-failed-local-early', target: LOCAL, nextHop: LOCAL, change: true });
    const localDeadToo = { route: [R17], up: { [R17]: false, [LOCAL]: false } };
    const later = decide(input({ config: on, state: out.state, now: T0 + 10_000 + 600_000, spec: localDeadToo }));
    expect(row(later.decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R16, nextHop: R16, change: true });
    expect(later.state.record.nfsAvoid).toEqual({});
  });

  test('an avoided remote that the route stays on (nothing better) is trusted again once its check answers', () => {
    const state = engineState({ target: R16, local: localDown, record: { ...engineState().record, nfsAvoid: { [R16]: T0 - 1000 } } });
    const { decision, state: next } = decide(input({ config: on, state, spec: { route: [R16], up: { [LOCAL]: false, [R17]: false }, nfs: true } }));
    expect(row(decision)).toEqual({ row: 6, reason: 'remote-ok', target: R16, nextHop: R16, change: false });
    expect(next.record.nfsAvoid).toEqual({});
  });

  test('a pinned target whose NFS fails is a failing pin (pin grace applies)', () => {
    const pin: Pin = { target: R17, until: null, setAt: T0 - 600_000 };
    const state = engineState({ target: R17, record: { ...engineState().record, nfsRun: { target: R17, failed: 2, lastAt: T0 - 5000 } } });
    const { decision } = decide(input({ config: on, state, pin, spec: { route: [R17], nfs: false } }));
    expect(row(decision)).toEqual({ row: 2, reason: 'pinned-failing', target: R17, nextHop: R17, change: false });
    expect(decision.pinTargetFailing).toMatchObject({ target: R17, why: `the SCVM behind ${R17} does not answer NFS` });
  });

  test('with the check off, failed checks change nothing and nothing is kept', () => {
    const { results, state } = passes([nfsFails, nfsFails, nfsFails, nfsFails], { cfg: config({ nfsCheck: { enabled: false } }) });
    expect(new Set(results.map((d) => d.reason))).toEqual(new Set(['local-ok']));
    expect(results.every((d) => d.warnings.length === 0)).toBe(true);
    expect(state.record).toMatchObject({ nfsRun: null, nfsAvoid: {} });
  });

  test('record files written before: a record without the NFS fields still loads', () => {
    const r = engineState().record;
    const { nfsRun: _r, nfsAvoid: _a, ...old } = r;
    expect(engineRecordSchema.parse(old)).toEqual(r);
  });
});
