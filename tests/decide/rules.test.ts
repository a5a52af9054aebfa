// The priority table of docs/decision.md, row by row.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decide } from '../../lib/decide/decide';
import { describeJournal } from '../../lib/decide/journal';
import { RULES } from '../../lib/decide/rules';
import { reasonSchema } from '../../lib/decide/state';
import {
  LOCAL, M15, M16, M17, R16, R17, T0, config, engineState, input, obs, passes, row, session,
} from './builders';

const healthySince = (sec: number) => ({ down: false, healthySince: T0 - sec * 1000, downSince: null, sessionBadAt: [], sessionBadBy: {} });
const downState = { down: true, healthySince: null, downSince: T0 - 60_000, sessionBadAt: [], sessionBadBy: {} };
const oneRelapse = { penalty: 1, penaltyAt: T0 - 400_000, relapses: [T0 - 400_000] };

describe('priority table', () => {
  test('rows are numbered 1..13 in order', () => {
    expect(RULES.map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  test('docs/decision.md has the same rows, and every reason code in its table', () => {
    const doc = readFileSync(join(__dirname, '../../docs/decision.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Priority table'), doc.indexOf('Two properties hold'));
    const rows = [...table.matchAll(/^\| (\d+) \|.*\| ([^|]+) \|$/gm)];
    expect(rows.map((m) => Number(m[1]))).toEqual(RULES.map((r) => r.row));
    const codes = new Set(rows.flatMap((m) => [...m[2]!.matchAll(/`([a-z-]+)`/g)].map((c) => c[1])));
    expect([...reasonSchema.options].filter((c) => !codes.has(c))).toEqual([]);
  });

  test('row 1: reroute disabled while rerouted and the local SCVM down: stay on the remote', () => {
    const { decision } = decide(input({
      spec: { up: { [LOCAL]: false }, route: [R16], switches: { enableReroute: false, enableSecondaryDataChannel: false } },
      state: engineState({ local: downState }),
    }));
    expect(row(decision)).toEqual({ row: 1, reason: 'reroute-disabled', target: R16, nextHop: R16, change: false });
    expect(decision.because).toBe(
      `reroute is disabled by the cluster (enable_reroute off): staying on ${R16} until the local SCVM is healthy for its stable period; local SCVM ${LOCAL} does not answer ping`,
    );
  });

  test('row 1: reroute disabled and already local: no switch away from it, even with local down', () => {
    const { decision } = decide(input({
      spec: { up: { [LOCAL]: false }, switches: { enableReroute: false, enableSecondaryDataChannel: true } },
    }));
    expect(row(decision)).toEqual({ row: 1, reason: 'reroute-disabled', target: LOCAL, nextHop: LOCAL, change: false });
  });

  test('row 1: reroute disabled, rerouted, local healthy for its stable period: back to local', () => {
    const off = { enableReroute: false, enableSecondaryDataChannel: false };
    const early = decide(input({ spec: { route: [R16], switches: off }, state: engineState({ local: healthySince(100), damping: oneRelapse }) }));
    expect(row(early.decision)).toEqual({ row: 1, reason: 'reroute-disabled', target: R16, nextHop: R16, change: false });
    const stable = decide(input({ spec: { route: [R16], switches: off }, state: engineState({ local: healthySince(185), damping: oneRelapse }) }));
    expect(row(stable.decision)).toEqual({ row: 1, reason: 'reroute-disabled', target: LOCAL, nextHop: LOCAL, change: true });
  });

  test('row 1: reroute disabled and the current target fails ping: to a healthy local, else a healthy remote, else keep', () => {
    const off = { enableReroute: false, enableSecondaryDataChannel: false };
    const toLocal = decide(input({
      spec: { up: { [R16]: false }, route: [R16], switches: off },
      state: engineState({ local: healthySince(30), damping: oneRelapse }),
    }));
    expect(row(toLocal.decision)).toEqual({ row: 1, reason: 'reroute-disabled-move', target: LOCAL, nextHop: LOCAL, change: true });
    const toRemote = decide(input({ spec: { up: { [LOCAL]: false, [R16]: false }, route: [R16], switches: off }, state: engineState({ local: downState }) }));
    expect(row(toRemote.decision)).toEqual({ row: 1, reason: 'reroute-disabled-move', target: R17, nextHop: R17, change: true });
    const keep = decide(input({
      spec: { up: { [LOCAL]: false, [R16]: false, [R17]: false }, route: [R16], switches: off },
      state: engineState({ local: downState }),
    }));
    expect(row(keep.decision)).toEqual({ row: 1, reason: 'no-healthy-target', target: R16, nextHop: R16, change: false });
    const noRoute = decide(input({ spec: { up: { [LOCAL]: false, [R16]: false, [R17]: false }, route: [], switches: off } }));
    expect(row(noRoute.decision)).toEqual({ row: 1, reason: 'no-route-fallback', target: LOCAL, nextHop: LOCAL, change: true });
  });

  test('row 2: an active pin wins over a healthy local SCVM', () => {
    const { decision } = decide(input({ pin: { target: R17, until: T0 + 60_000, setAt: T0 - 1000 } }));
    expect(row(decision)).toEqual({ row: 2, reason: 'pinned', target: R17, nextHop: R17, change: true });
    expect(decision.clearPin).toBe(false);
  });

  test('row 2: an expired pin is ignored and reported for removal', () => {
    const { decision } = decide(input({ pin: { target: R17, until: T0, setAt: T0 - 60_000 } }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false });
    expect(decision.clearPin).toBe(true);
    expect(decision.warnings).toEqual([`the pin to ${R17} expired at 2024-01-01T00:00:00.000Z: back to automatic`]);
  });

  test('row 3: rerouted and local healthy for the stable period: go back', () => {
    const { decision } = decide(input({
      spec: { route: [R16] },
      state: engineState({ local: healthySince(185), damping: oneRelapse }),
    }));
    expect(row(decision)).toEqual({ row: 3, reason: 'local-stable', target: LOCAL, nextHop: LOCAL, change: true });
  });

  test('row 3 does not fire before the stable period: stickiness (row 6) keeps the remote', () => {
    const { decision } = decide(input({
      spec: { route: [R16] },
      state: engineState({ local: healthySince(100), damping: oneRelapse }),
    }));
    expect(row(decision)).toEqual({ row: 6, reason: 'remote-ok', target: R16, nextHop: R16, change: false });
    expect(decision.because).toBe(`staying on ${R16} (answers ping, session alive); local SCVM ${LOCAL} healthy for 100 s of the 180 s needed`);
  });

  test('row 4: on local and healthy: keep, whole decision', () => {
    const { decision } = decide(input());
    expect(decision).toEqual({
      target: LOCAL,
      nextHop: LOCAL,
      change: false,
      from: [LOCAL],
      row: 4,
      reason: 'local-ok',
      because: `local SCVM ${LOCAL} answers ping and its session is alive`,
      local: 'healthy',
      localHealthySec: 0,
      requiredStableSec: 180,
      refresh: null,
      heartbeat: { apiIp: M15, nfsTargetIp: LOCAL, rerouted: false },
      clearPin: false,
      pinTargetFailing: null,
      warnings: [],
      activeDataIps: [LOCAL, R16, R17],
    });
  });

  test('row 4: an API failure is never a reason to switch', () => {
    const { decision } = decide(input({ spec: { sessions: 'api-down' } }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-unconfirmed', target: LOCAL, nextHop: LOCAL, change: false });
  });

  test('row 5: local ping lost: fast out in the same pass, even without a session list', () => {
    for (const sessions of [undefined, 'api-down' as const]) {
      const { decision } = decide(input({ spec: { up: { [LOCAL]: false }, sessions } }));
      expect(row(decision)).toEqual({ row: 5, reason: 'local-icmp-down', target: R16, nextHop: R16, change: true });
    }
  });

  test('row 5: local answers ping but two fresh lists have no session for it / a dead one', () => {
    const missing = { sessions: [session(R16), session(R17)] };
    const first = passes([missing]).results.map(row);
    expect(first).toEqual([{ row: 4, reason: 'local-session-unconfirmed', target: LOCAL, nextHop: LOCAL, change: false }]);
    const twice = passes([missing, missing]).results.at(-1)!;
    expect(row(twice)).toEqual({ row: 5, reason: 'local-session-missing', target: R16, nextHop: R16, change: true });
    const dead = { sessions: [session(LOCAL, false), session(R16), session(R17)] };
    const deadTwice = passes([dead, dead]).results.at(-1)!;
    expect(row(deadTwice)).toEqual({ row: 5, reason: 'local-session-dead', target: R16, nextHop: R16, change: true });
  });

  test('row 5: the local NFS failed its checks in a row (nfsCheck on; ping and session fine): fast out', () => {
    const cfg = config({ nfsCheck: { enabled: true, failures: 2 } });
    const out = passes([{ nfs: false }, { nfs: false }], { cfg }).results.map(row);
    expect(out).toEqual([
      { row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false },
      { row: 5, reason: 'local-nfs-down', target: R16, nextHop: R16, change: true },
    ]);
  });

  test('row 5: the switch orders the session refresh at the new target (refresh after add)', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false } } }));
    expect(decision.refresh).toEqual({ target: R16, apiIp: M16, sessionId: 's-16' });
    expect(decision.heartbeat).toEqual({ apiIp: M16, nfsTargetIp: R16, rerouted: true });
  });

  test('row 6: a healthy remote is kept while local is down', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false }, route: [R17] }, state: engineState({ local: downState }) }));
    expect(row(decision)).toEqual({ row: 6, reason: 'remote-ok', target: R17, nextHop: R17, change: false });
  });

  test('row 7: on a management IP, a usable data IP takes over', () => {
    const { decision } = decide(input({
      spec: { up: { [LOCAL]: false, [R16]: false, [M16]: true }, route: [M16] },
      state: engineState({ local: downState }),
    }));
    expect(row(decision)).toEqual({ row: 7, reason: 'leave-secondary', target: R17, nextHop: R17, change: true });
  });

  test('row 8: on a healthy management IP with no data IP usable: keep', () => {
    const { decision } = decide(input({
      spec: {
        up: { [LOCAL]: false, [R16]: false, [R17]: false, [M16]: true, [M17]: true },
        route: [M16],
        switches: { enableReroute: true, enableSecondaryDataChannel: true },
      },
      state: engineState({ local: downState }),
    }));
    expect(row(decision)).toEqual({ row: 8, reason: 'secondary-ok', target: M16, nextHop: M16, change: false });
  });

  test('row 9: current remote fails while local is healthy but not yet stable: another remote, not local', () => {
    const { decision } = decide(input({
      spec: { up: { [R16]: false }, route: [R16] },
      state: engineState({ local: healthySince(30), damping: oneRelapse }),
    }));
    expect(row(decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
    expect(decision.because).toBe(
      `current target ${R16} does not answer ping and local SCVM ${LOCAL} healthy for 30 s of the 180 s needed: moving to ${R17} (slot of this host when 2 host(s) without a usable SCVM share 1 usable SCVM(s))`,
    );
  });

  test('row 9: current remote fails while local is down: move to another remote', () => {
    const { decision } = decide(input({
      spec: { up: { [LOCAL]: false, [R16]: false }, route: [R16] },
      state: engineState({ local: downState }),
    }));
    expect(row(decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
  });

  test('row 9: a remote whose NFS failed its checks in a row (nfsCheck on) counts as failed', () => {
    const cfg = config({ nfsCheck: { enabled: true, failures: 1 } });
    const { decision } = decide(input({
      config: cfg,
      spec: { up: { [LOCAL]: false }, route: [R16], nfs: false },
      state: engineState({ local: downState }),
    }));
    expect(row(decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
    expect(decision.because).toMatch(new RegExp(`^current target ${R16} does not answer NFS \\(1 check in a row failed`));
  });

  test('row 9: a remote with a dead session counts as failed, ping or not', () => {
    const { decision } = decide(input({
      spec: { up: { [LOCAL]: false }, route: [R16], sessions: [session(LOCAL, false), session(R16, false), session(R17)] },
      state: engineState({ local: downState }),
    }));
    expect(row(decision)).toEqual({ row: 9, reason: 'remote-failed-move', target: R17, nextHop: R17, change: true });
  });

  test('row 10: current remote fails, local not stable yet and no other remote usable: local early', () => {
    const { decision } = decide(input({
      spec: { up: { [R16]: false, [R17]: false }, route: [R16] },
      state: engineState({ local: healthySince(30), damping: oneRelapse }),
    }));
    expect(row(decision)).toEqual({ row: 10, reason: 'remote-failed-local-early', target: LOCAL, nextHop: LOCAL, change: true });
    expect(decision.because).toBe(
      `current target ${R16} does not answer ping and no remote SCVM is usable; local SCVM ${LOCAL} healthy for 30 s of the 180 s needed: going to the local SCVM before its stable period`,
    );
  });

  test('row 10: current target failed and the local SCVM never failed: local, no stable period owed', () => {
    const { decision } = decide(input({ spec: { up: { [R16]: false }, route: [R16] } }));
    expect(row(decision)).toEqual({ row: 10, reason: 'remote-failed-go-local', target: LOCAL, nextHop: LOCAL, change: true });
    expect(decision.because).toBe(
      `current target ${R16} does not answer ping; local SCVM ${LOCAL} answers ping and its session is alive and has not failed before: going to the local SCVM`,
    );
  });

  test('row 10: no route at all and local fine: add it via local', () => {
    const { decision } = decide(input({ spec: { route: [] } }));
    expect(row(decision)).toEqual({ row: 10, reason: 'remote-failed-go-local', target: LOCAL, nextHop: LOCAL, change: true });
  });

  test('row 11: no data IP usable and the cluster allows the secondary channel: a management IP', () => {
    const { decision } = decide(input({
      spec: {
        up: { [LOCAL]: false, [R16]: false, [R17]: false, [M16]: true, [M17]: true },
        switches: { enableReroute: true, enableSecondaryDataChannel: true },
      },
    }));
    expect(row(decision)).toEqual({ row: 11, reason: 'secondary-channel', target: M16, nextHop: M16, change: true });
  });

  test('row 11 is skipped when the channel is off by config even if the cluster allows it', () => {
    const { decision } = decide(input({
      config: config({ decide: { useSecondaryDataChannel: 'never' } }),
      spec: {
        up: { [LOCAL]: false, [R16]: false, [R17]: false, [M16]: true },
        switches: { enableReroute: true, enableSecondaryDataChannel: true },
      },
    }));
    expect(row(decision)).toEqual({ row: 12, reason: 'no-healthy-target', target: LOCAL, nextHop: LOCAL, change: false });
  });

  test('row 12: nothing healthy: keep the current route (never delete), warn', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false, [R16]: false, [R17]: false }, route: [R16] } }));
    expect(row(decision)).toEqual({ row: 12, reason: 'no-healthy-target', target: R16, nextHop: R16, change: false });
    expect(decision.warnings).toEqual([decision.because]);
  });

  test('row 13: no route and nothing healthy: add it via local anyway', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false, [R16]: false, [R17]: false }, route: [] } }));
    expect(row(decision)).toEqual({ row: 13, reason: 'no-route-fallback', target: LOCAL, nextHop: LOCAL, change: true });
  });
});

describe('definitions around the table', () => {
  test('already right: a route with an extra next hop is not', () => {
    const { decision } = decide(input({ spec: { route: [LOCAL, R16] } }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: true });
  });

  test('RDMA: the next hop is the access IP, and a route via it is recognised as already right', () => {
    const cfg = config({ accessIps: { [R16]: '10.10.86.16' } });
    const out = decide(input({ config: cfg, spec: { up: { [LOCAL]: false } } })).decision;
    expect(row(out)).toEqual({ row: 5, reason: 'local-icmp-down', target: R16, nextHop: '10.10.86.16', change: true });
    const kept = decide(input({ config: cfg, spec: { up: { [LOCAL]: false }, route: ['10.10.86.16'] } })).decision;
    expect(row(kept)).toEqual({ row: 6, reason: 'remote-ok', target: R16, nextHop: '10.10.86.16', change: false });
  });

  test('unreadable route: the believed target stands in, and it is said', () => {
    const { decision } = decide(input({ spec: { route: 'unreadable' }, state: engineState({ target: LOCAL }) }));
    expect(row(decision)).toEqual({ row: 4, reason: 'local-ok', target: LOCAL, nextHop: LOCAL, change: false });
    expect(decision.warnings).toEqual(['could not read the route (esxcfg-route timed out); assuming it goes via 10.10.85.15']);
  });

  test('target choice: own zone first', () => {
    const cfg = config({ zone: 'a' });
    const sessions = [session(LOCAL, true, null, 'a'), session(R16, true, null, 'b'), session(R17, true, null, 'a')];
    const { decision } = decide(input({ config: cfg, spec: { up: { [LOCAL]: false }, sessions } }));
    expect(row(decision)).toEqual({ row: 5, reason: 'local-icmp-down', target: R17, nextHop: R17, change: true });
  });

  test('target choice: two hosts failing together take different SCVMs (same list, same assignment)', () => {
    const R18 = '10.10.85.18';
    const scvms = [LOCAL, R16, R17, R18].map((ip) => ({ dataIp: ip, manageIp: ip.replace('10.10.85.', '192.168.85.') }));
    const up = { [LOCAL]: false, [R16]: false, [R17]: true, [R18]: true };
    const sessions = [session(R17), session(R18)];
    const chosen = [LOCAL, R16].map((me) => {
      const cfg = config({ local: scvms.find((s) => s.dataIp === me), scvms });
      return decide(input({ config: cfg, spec: { up, sessions, route: [me] } })).decision.target;
    });
    expect(chosen).toEqual([R17, R18]);
  });

  test('cold start with the API down: remotes judged by ping alone, and said so', () => {
    const { decision } = decide(input({ spec: { up: { [LOCAL]: false }, sessions: 'api-down' } }));
    expect(decision.target).toBe(R16);
    expect(decision.warnings).toEqual([
      `session refresh for ${R16} cannot be sent: no session id known for that SCVM yet; kept pending`,
      'no fresh session list (connect ETIMEDOUT; none ever received): deciding on ping and the last list',
      'no session list was ever received: remote targets are judged by ping alone',
    ]);
  });

  test('once a list was seen, a remote missing from it is not a target even if it answers ping', () => {
    const { state } = decide(input({ spec: { sessions: [session(LOCAL), session(R17)] } }));
    const { decision } = decide(input({ state, now: T0 + 5000, spec: { up: { [LOCAL]: false }, sessions: 'api-down' } }));
    expect(decision.target).toBe(R17);
  });

  test('switches never read (null): reroute assumed on, secondary channel off', () => {
    const { decision } = decide(input({
      spec: { up: { [LOCAL]: false, [R16]: false, [R17]: false, [M16]: true }, switches: null },
    }));
    expect(row(decision)).toEqual({ row: 12, reason: 'no-healthy-target', target: LOCAL, nextHop: LOCAL, change: false });
  });

  test('active list: follows fresh lists and survives an API outage', () => {
    const { results } = passes([
      { sessions: [session(LOCAL), session(R16, false), session(R17)] },
      { sessions: 'api-down' },
    ]);
    expect(results.map((d) => d.activeDataIps)).toEqual([[LOCAL, R17], [LOCAL, R17]]);
  });

  test('refresh after add: owed whenever the route is not where the last successful refresh went', () => {
    // on a remote, no refresh done since (a pass killed after its switch, or one whose refresh failed): ordered again
    const owed = decide(input({ state: engineState({ target: R16 }), spec: { up: { [LOCAL]: false }, route: [R16] } }));
    expect(owed.decision.change).toBe(false);
    expect(owed.decision.refresh).toEqual({ target: R16, apiIp: M16, sessionId: 's-16' });
    // refreshed there already: nothing owed
    const done = engineState({ target: R16, refreshed: { target: R16, sessionId: 's-16', at: T0 - 5000 } });
    expect(decide(input({ state: done, spec: { up: { [LOCAL]: false }, route: [R16] } })).decision.refresh).toBeNull();
    // back on the local SCVM after a refresh at a remote: owed at the local one
    const back = engineState({ target: LOCAL, refreshed: { target: R16, sessionId: 's-16', at: T0 - 5000 } });
    expect(decide(input({ state: back })).decision.refresh).toEqual({ target: LOCAL, apiIp: M15, sessionId: 's-15' });
    // on the local SCVM with no refresh ever needed: nothing owed
    expect(decide(input({ state: engineState({ target: LOCAL }) })).decision.refresh).toBeNull();
  });

  test('rate-limited warnings: the no-target warning is rate-limited, the reason is not', () => {
    const down = { up: { [LOCAL]: false, [R16]: false, [R17]: false } };
    const { results } = passes(Array.from({ length: 14 }, () => down));
    expect(results.map((d) => d.warnings.length)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(new Set(results.map((d) => d.reason))).toEqual(new Set(['no-healthy-target']));
  });

  test('the journal is bounded by journalSize', () => {
    // passes that differ (the session list comes and goes), so none is folded into another
    const specs = Array.from({ length: 7 }, (_, i) => (i % 2 ? { sessions: 'api-down' as const } : {}));
    const { state } = passes(specs, { cfg: config({ journalSize: 5 }) });
    expect(state.record.journal.map((e) => e.at)).toEqual([2, 3, 4, 5, 6].map((i) => T0 + i * 5000));
  });

  test('the journal folds a run of alike passes into one entry with their count, once each is complete', () => {
    const { state } = passes([...Array.from({ length: 4 }, () => ({})), { sessions: 'api-down' as const }, {}]);
    const j = state.record.journal;
    expect(j.map((e) => [e.at, e.repeats, e.until, e.api])).toEqual([
      [T0, 4, T0 + 3 * 5000, true],
      [T0 + 4 * 5000, undefined, undefined, false],
      [T0 + 5 * 5000, undefined, undefined, true], // this pass: alone until the next pass appends
    ]);
    expect(describeJournal(j.map((e) => ({ ...e, at: e.at, until: e.until }))).at(0)).toMatch(/\(same for 4 passes until /);
  });

  test('a switch is never folded', () => {
    // the route is never moved here (no act step), so each of the last three passes decides the same switch again
    const { state } = passes([{}, {}, { up: { [LOCAL]: false } }, { up: { [LOCAL]: false } }, { up: { [LOCAL]: false } }]);
    const j = state.record.journal;
    expect(j.map((e) => [e.change, e.repeats])).toEqual([[false, 2], [true, undefined], [true, undefined], [true, undefined]]);
  });

  test('obs builder default is all healthy', () => {
    expect(obs().sessions).toEqual({ ok: true, sessions: [session(LOCAL), session(R16), session(R17)], from: M16 });
  });
});
