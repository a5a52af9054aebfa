// The event rules (lib/state/events.ts): an event on a change only, by whom, bounded, numbered once.
import { append, emptyStore, eventFields, eventsOfPass, parseSent, parseStore, type Conditions, type PassFacts } from '../../lib/state/events';

const LOCAL = '10.10.85.15';
const facts = (over: Partial<PassFacts> = {}): PassFacts => ({
  at: Date.UTC(2026, 11, 7, 12, 0, 0),
  localIp: LOCAL,
  target: LOCAL,
  decision: { reason: 'local-ok', because: 'local SCVM healthy', target: LOCAL, local: 'healthy' },
  localDown: false,
  pinBefore: null,
  pinAfter: null,
  byOperator: false,
  agentNow: 1_000_000,
  list: null,
  icmp: {},
  ...over,
});
const fresh = (): Conditions => emptyStore('e').conditions;
const kinds = (r: { events: { kind: string }[] }) => r.events.map((e) => e.kind);

describe('eventsOfPass', () => {
  test('a healthy first pass tells nothing; the local SCVM going down and up is told once each', () => {
    const first = eventsOfPass(fresh(), facts({ icmp: { [LOCAL]: 'up' }, list: { ok: true, from: '192.168.85.15', sessions: [{ dataIp: LOCAL, alive: true }] } }));
    expect(first.events).toEqual([]);
    const down = eventsOfPass(first.conditions, facts({ localDown: true, target: '10.10.85.16', icmp: { [LOCAL]: 'down' }, decision: { reason: 'local-icmp-down', because: 'no ping', target: '10.10.85.16', local: 'icmp-down' } }));
    expect(kinds(down)).toEqual(['local-down', 'scvm']);
    expect(down.events[0]).toMatchObject({ ip: LOCAL, status: 'icmp-down' });
    expect(down.events[1]).toMatchObject({ ip: LOCAL, check: 'icmp', was: 'up', now: 'down' });
    expect(down.conditions.reroutedSince).toBe(facts().at);
    const again = eventsOfPass(down.conditions, facts({ localDown: true, target: '10.10.85.16', icmp: { [LOCAL]: 'down' } }));
    expect(again.events).toEqual([]);
    const later = facts().at + 200_000;
    const up = eventsOfPass(again.conditions, facts({ at: later, icmp: { [LOCAL]: 'up' } }));
    expect(kinds(up)).toEqual(['local-up', 'scvm']);
    expect(up.events[0]).toMatchObject({ downSec: 200 });
    expect(up.conditions.reroutedSince).toBeNull();
  });

  test('the API is told down after two failed asks in a row, and up again once', () => {
    const fail = { ok: false as const, why: 'connect ECONNREFUSED' };
    const one = eventsOfPass(fresh(), facts({ list: fail }));
    expect(one.events).toEqual([]);
    const two = eventsOfPass(one.conditions, facts({ list: fail }));
    expect(kinds(two)).toEqual(['api-down']);
    const three = eventsOfPass(two.conditions, facts({ list: fail }));
    expect(three.events).toEqual([]);
    const reused = eventsOfPass(three.conditions, facts({ list: null }));
    expect(reused.events).toEqual([]);
    const ok = eventsOfPass(reused.conditions, facts({ list: { ok: true, from: '192.168.85.16', sessions: [] } }));
    expect(ok.events).toEqual([expect.objectContaining({ kind: 'api-up', from: '192.168.85.16' })]);
  });

  test('no healthy target: told as it begins and as it ends', () => {
    const none = { reason: 'no-healthy-target' as const, because: 'nothing answers', target: LOCAL, local: 'icmp-down' as const };
    const a = eventsOfPass(fresh(), facts({ decision: none }));
    expect(a.events).toEqual([expect.objectContaining({ kind: 'no-healthy-target', kept: LOCAL })]);
    expect(eventsOfPass(a.conditions, facts({ decision: none })).events).toEqual([]);
    expect(kinds(eventsOfPass(a.conditions, facts()))).toEqual(['healthy-target']);
  });

  test('a pin set by an operator and cleared by the agent says who and why; its end as wall time', () => {
    const pin = { target: '10.10.85.16', until: 1_000_000 + 1_800_000, force: false };
    const set = eventsOfPass(fresh(), facts({ pinAfter: pin, byOperator: true }));
    expect(set.events).toEqual([expect.objectContaining({ kind: 'pin-set', target: '10.10.85.16', who: 'operator', until: facts().at + 1_800_000 })]);
    const expired = eventsOfPass(set.conditions, facts({ pinBefore: pin }));
    expect(expired.events).toEqual([expect.objectContaining({ kind: 'pin-cleared', who: 'agent', why: 'expired' })]);
    const failing = eventsOfPass(set.conditions, facts({ pinBefore: pin, decision: { ...facts().decision, pinTargetFailing: { cleared: true } } }));
    expect(failing.events[0]).toMatchObject({ why: 'its target failed past decide.pinGraceSec' });
  });

  test('a failed switch is an event; per SCVM a first sighting is told only when bad; a missing session is told', () => {
    const r = eventsOfPass(fresh(), facts({
      switchFailed: { from: LOCAL, to: '10.10.85.16', error: 'esxcfg-route timed out' },
      icmp: { '10.10.85.16': 'up', '10.10.85.17': 'down' },
      list: { ok: true, from: 'x', sessions: [{ dataIp: '10.10.85.16', alive: true }, { dataIp: '10.10.85.17', alive: false }] },
    }));
    expect(r.events.map((e) => (e.kind === 'scvm' ? `${e.ip} ${e.check} ${e.now}` : `${e.kind}`))).toEqual([
      'switch', '10.10.85.17 icmp down', '10.10.85.17 session dead',
    ]);
    expect(r.events[0]).toMatchObject({ ok: false, error: 'esxcfg-route timed out' });
    const gone = eventsOfPass(r.conditions, facts({ list: { ok: true, from: 'x', sessions: [{ dataIp: '10.10.85.17', alive: false }] } }));
    expect(gone.events).toEqual([expect.objectContaining({ kind: 'scvm', ip: '10.10.85.16', check: 'session', was: 'alive', now: 'missing' })]);
  });
});

describe('the store', () => {
  test('numbers events once, keeps each kind within its bound, counts switches by reason', () => {
    let s = emptyStore('abc');
    const sw = { at: 1, kind: 'switch' as const, from: 'a', to: 'b', reason: 'local-icmp-down', because: 'x', ok: true };
    for (let i = 0; i < 30; i++) {
      s = append(s, [sw, { at: 1, kind: 'scvm', ip: '10.0.0.1', check: 'icmp', was: 'up', now: 'down' }], { keep: 10, keepScvm: 5 }).store;
    }
    expect(s.seq).toBe(60);
    expect(s.events).toHaveLength(10);
    expect(s.scvm).toHaveLength(5);
    expect(s.events.at(-1)!.seq).toBe(59);
    expect(s.counters.switches).toEqual({ 'local-icmp-down': 30 });
    expect(parseStore(JSON.stringify(s))).toEqual(s);
  });

  test('a damaged store or sent file is none: afresh, never a throw', () => {
    expect(parseStore('{"version":1,')).toBeNull();
    expect(parseStore(JSON.stringify({ ...emptyStore('a'), seq: -1 }))).toBeNull();
    expect(parseSent('garbage', 'e1').syslog.seq).toBe(0);
    expect(parseSent(JSON.stringify({ epoch: 'old', syslog: { seq: 9, failed: 0, dropped: 0 }, hook: { seq: 9, failed: 0, dropped: 0 } }), 'new').hook.seq).toBe(0);
  });

  test('fields: event, seq, at, host first; nulls as none', () => {
    const e = { seq: 3, at: Date.UTC(2026, 0, 1), kind: 'local-up' as const, ip: LOCAL, downSec: null };
    expect(eventFields(e, '192.168.85.11')).toEqual([
      ['event', 'local-up'], ['seq', '3'], ['at', '2026-01-01T00:00:00.000Z'], ['host', '192.168.85.11'], ['ip', LOCAL], ['downSec', 'none'],
    ]);
  });
});
