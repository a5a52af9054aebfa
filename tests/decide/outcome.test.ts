// After act (applyOutcome), the probe list, and the journal wording for `reroute status`.
import { decide } from '../../lib/decide/decide';
import { describeJournal } from '../../lib/decide/journal';
import { applyOutcome } from '../../lib/decide/outcome';
import { probeTargets } from '../../lib/decide/probe-targets';
import { engineStateSchema, initialEngineState } from '../../lib/decide/state';
import { LOCAL, M16, M17, R16, R17, T0, config, engineState, input, session } from './builders';

describe('applyOutcome', () => {
  const switched = () => decide(input({ spec: { up: { [LOCAL]: false } } }));
  const done = { ok: true as const, target: R16, sessionId: 's-16' };

  test('a successful switch is believed; a successful refresh is recorded as where the last refresh went', () => {
    const { decision, state } = switched();
    expect(decision.refresh).toEqual({ target: R16, apiIp: M16, sessionId: 's-16' });
    const after = applyOutcome(state, { switched: { ok: true, to: R16 } }, T0);
    expect(after.target).toBe(R16);
    expect(after.refreshed).toBeNull();
    const refreshed = applyOutcome(after, { refreshed: done }, T0);
    expect(refreshed.refreshed).toEqual({ target: R16, sessionId: 's-16', at: T0 });
    expect(refreshed.record.refreshFailing).toBeNull();
    expect(refreshed.record.journal.at(-1)).toMatchObject({ switched: 'ok', refreshed: 'ok', to: R16, change: true });
  });

  test('a failed switch is not believed done', () => {
    const { state } = switched();
    const after = applyOutcome(state, { switched: { ok: false, to: R16, error: 'esxcfg-route exit 1' } }, T0);
    expect(after.target).toBe(LOCAL);
    expect(after.record.journal.at(-1)!.switched).toBe('esxcfg-route exit 1');
  });

  test('a failed refresh is counted while it fails, and ordered again next pass', () => {
    const { state } = switched();
    const fail = { ok: false as const, target: R16, error: 'HTTP 503' };
    const s1 = applyOutcome(applyOutcome(state, { switched: { ok: true, to: R16 } }, T0), { refreshed: fail }, T0);
    expect(s1.record.refreshFailing).toEqual({ target: R16, since: T0, attempts: 1, lastError: 'HTTP 503' });
    const next = decide(input({ state: s1, now: T0 + 5000, spec: { up: { [LOCAL]: false }, route: [R16] } }));
    expect(next.decision.change).toBe(false);
    expect(next.decision.refresh).toEqual({ target: R16, apiIp: M16, sessionId: 's-16' });
    const s2 = applyOutcome(next.state, { refreshed: { ...fail, error: 'HTTP 502' } }, T0 + 5000);
    expect(s2.record.refreshFailing).toEqual({ target: R16, since: T0, attempts: 2, lastError: 'HTTP 502' });
    expect(applyOutcome(s2, { refreshed: done }, T0 + 10_000).record.refreshFailing).toBeNull();
  });

  test('the state after decide and applyOutcome passes the schema the state module checks', () => {
    const { state } = switched();
    const after = applyOutcome(state, { switched: { ok: true, to: R16 }, refreshed: { ok: false, target: R16, error: 'x' } }, T0);
    expect(engineStateSchema.parse(JSON.parse(JSON.stringify(after)))).toEqual(after);
    expect(engineStateSchema.safeParse({ v: 2 }).success).toBe(false);
    expect(engineStateSchema.parse(initialEngineState())).toEqual(initialEngineState());
  });
});

describe('probeTargets', () => {
  test('local, config SCVMs and the current target; management IPs only with the secondary channel', () => {
    const cfg = config();
    const s = engineState({ target: '10.10.85.99' });
    expect(probeTargets(cfg, s)).toEqual([LOCAL, R16, R17, '10.10.85.99']);
    expect(probeTargets(cfg, { ...s, secondaryChannel: true })).toEqual([LOCAL, R16, R17, '10.10.85.99', M16, M17]);
  });

  test('SCVMs learned from session lists are probed too', () => {
    const { state } = decide(input({ spec: { sessions: [session(LOCAL), session('10.10.85.20')] } }));
    expect(probeTargets(config(), state)).toEqual([LOCAL, R16, R17, '10.10.85.20']);
  });
});

describe('describeJournal', () => {
  test('switches and outcomes in words; identical kept passes folded', () => {
    let state = initialEngineState();
    for (let i = 0; i < 3; i++) state = decide(input({ state, now: T0 + i * 5000 })).state;
    const out = decide(input({ state, now: T0 + 15_000, spec: { up: { [LOCAL]: false } } }));
    state = applyOutcome(out.state, { switched: { ok: true, to: R16 }, refreshed: { ok: false, target: R16, error: 'HTTP 503' } }, T0 + 15_000);
    expect(describeJournal(state.record.journal)).toEqual([
      `2024-01-01 00:00:00Z  kept ${LOCAL}: local SCVM ${LOCAL} answers ping and its session is alive (local SCVM healthy; reason local-ok) (same for 3 passes until 2024-01-01 00:00:10Z)`,
      `2024-01-01 00:00:15Z  SWITCH ${LOCAL} -> ${R16}: local SCVM ${LOCAL} does not answer ping: switching to ${R16} (slot of this host when 1 host(s) without a usable SCVM share 2 usable SCVM(s)) (local SCVM not answering ping; reason local-icmp-down) [route changed; session refresh FAILED (retried next pass): HTTP 503]`,
    ]);
  });
});
