// What of a state must be durable before a pass ends, and what may wait for the filesystem: a steady pass changes
// only its record (journal, when the session list came, when each SCVM was last seen), nothing a decision rests on.
import { initialState, lastingPart, type State } from '../../lib/state/schema';

function steadyState(): State {
  const s = initialState();
  s.engine.target = '10.10.85.15';
  s.engine.local.healthySince = 1_000;
  s.engine.sessions = {
    at: 5_000,
    from: '192.168.85.15',
    known: [
      { dataIp: '10.10.85.15', manageIp: '192.168.85.15', zone: 'a', sessionId: 's1', alive: true, lastSeenAt: 5_000 },
      { dataIp: '10.10.85.16', manageIp: '192.168.85.16', zone: 'b', sessionId: 's2', alive: true, lastSeenAt: 5_000 },
    ],
  };
  s.api.token = { value: 'tok-1', expiresAt: 9_000_000, scvm: '192.168.85.15' };
  s.api.switches = { enableReroute: true, enableSecondaryDataChannel: false, fetchedAt: 4_000 };
  return s;
}

const clone = (s: State): State => JSON.parse(JSON.stringify(s)) as State;

describe('lastingPart', () => {
  it('is the same after a steady pass: a journal record, fresher times, the pass record, the next sweep', () => {
    const before = steadyState();
    const after = clone(before);
    after.engine.journal.push({
      at: 7_000,
      local: 'healthy',
      api: true,
      from: '10.10.85.15',
      to: '10.10.85.15',
      change: false,
      reason: 'local-ok',
      because: 'local SCVM healthy',
    } as State['engine']['journal'][number]);
    after.engine.sessions.at = 7_000;
    for (const k of after.engine.sessions.known) k.lastSeenAt = 7_000;
    after.api.switches!.fetchedAt = 7_000;
    after.lastPass = { at: 7_000, ok: true, durationMs: 30 };
    after.sweep = {
      config: { path: '/c', size: 1, mtimeMs: 1, ino: 1 },
      targets: ['10.10.85.15'],
      probe: { count: 10, intervalMs: 100, waitMs: 1000, timeoutMs: 2000, minReplies: 3, payloadBytes: 16, mtu: 1500, paceMs: 1 },
    };
    expect(lastingPart(after)).toBe(lastingPart(before));
  });

  it.each<[string, (s: State) => void]>([
    ['a new route target', (s) => void (s.engine.target = '10.10.85.16')],
    ['a pin', (s) => void (s.pin = { target: '10.10.85.16', until: null, setAt: 7_000 })],
    ['a refresh owed', (s) => void (s.engine.refreshPending = { target: '10.10.85.16', since: 7_000, attempts: 0, lastError: null })],
    ['the local SCVM going down', (s) => void (s.engine.local = { ...s.engine.local, down: true, healthySince: null, downSince: 7_000 })],
    ['an SCVM no longer alive', (s) => void (s.engine.sessions.known[1]!.alive = false)],
    ['a new API token', (s) => void (s.api.token = { value: 'tok-2', expiresAt: 9_500_000, scvm: '192.168.85.16' })],
    ['a cluster switch', (s) => void (s.api.switches!.enableReroute = false)],
  ])('changes with %s', (_what, change) => {
    const before = steadyState();
    const after = clone(before);
    change(after);
    expect(lastingPart(after)).not.toBe(lastingPart(before));
  });
});
