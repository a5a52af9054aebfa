// Pure validation of API answers: what is accepted, what refuses the list, and what "exists"/"alive" mean.
import fc from 'fast-check';
import { isIPv4 } from '../../../lib/net/ipv4';
import {
  isAlive,
  isSafeSessionId,
  localSession,
  parseLogin,
  parseSessionList,
  parseSwitches,
} from '../../../lib/observe/zbs/schemas';
import type { ZbsSession } from '../../../lib/types';

const entry = (over: Record<string, unknown> = {}) => ({
  uuid: 'a1b2-c3',
  ip: '10.10.85.15',
  secondary_data_ip: '192.168.85.15',
  zone: 'default',
  cid: 3,
  machine_id: 'm-1',
  alive: true,
  alive_sec: 12,
  ...over,
});
const env = (data: unknown) => ({ ec: 'EOK', error: {}, data });

describe('session list', () => {
  test('a good entry, bare or in the envelope', () => {
    const want: ZbsSession = {
      sessionId: 'a1b2-c3',
      dataIp: '10.10.85.15',
      manageIp: '192.168.85.15',
      zone: 'default',
      alive: true,
      aliveSec: 12,
    };
    expect(parseSessionList(env([entry()]), 10)).toEqual({ ok: true, value: [want] });
    expect(parseSessionList([entry()], 10)).toEqual({ ok: true, value: [want] });
  });

  test('liveness: the alive flag wins; alive_sec > 0 only when the flag is absent; neither refuses the list', () => {
    const one = (over: Record<string, unknown>) => {
      const r = parseSessionList([entry(over)], 10);
      return r.ok ? r.value[0]!.alive : r.reason;
    };
    expect(one({ alive: false, alive_sec: 30 })).toBe(false);
    expect(one({ alive: true, alive_sec: 0 })).toBe(true);
    expect(one({ alive: undefined, alive_sec: 5 })).toBe(true);
    expect(one({ alive: undefined, alive_sec: 0 })).toBe(false);
    expect(one({ alive: undefined, alive_sec: undefined })).toMatch(/neither "alive" nor "alive_sec"/);
    expect(one({ alive: 'yes' })).toMatch(/entry 0 refused \(alive="yes"/);
  });

  test('optional fields: "" or null mean not reported', () => {
    const r = parseSessionList([entry({ secondary_data_ip: '', zone: null })], 10);
    expect(r).toMatchObject({ ok: true, value: [{ manageIp: null, zone: null }] });
  });

  test.each([
    ['ip', '10.0.0.1 via 1.2.3.4'],
    ['ip', '-d'],
    ['ip', 'fe80::1'],
    ['ip', ''],
    ['ip', '010.1.1.1'],
    ['ip', 42],
    ['secondary_data_ip', '1.2.3.4 dev vmk0'],
    ['uuid', '../x'],
    ['uuid', 'a/b'],
    ['uuid', '..'],
    ['uuid', 'a%2f'],
    ['uuid', 'a b'],
    ['uuid', ''],
    ['uuid', 'x'.repeat(129)],
    ['zone', 'zone;rm'],
  ])('entry with %s=%j refuses the whole list, naming the field', (field, value) => {
    const r = parseSessionList(env([entry({ uuid: 'other' }), entry({ [field]: value })]), 10);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(new RegExp(`entry 1 refused \\(${field}=`));
  });

  test('longer than maxSessions is refused; an API error code is not a list', () => {
    expect(parseSessionList(Array.from({ length: 11 }, () => entry()), 10)).toEqual({
      ok: false,
      reason: 'session list: 11 entries, more than api.maxSessions 10',
    });
    expect(parseSessionList({ ec: 'EAUTH', error: {}, data: null }, 10)).toEqual({
      ok: false,
      reason: 'session list: API error code "EAUTH"',
    });
  });

  test('property: whatever is accepted has dotted-quad IPs and path-safe ids', () => {
    const anyIp = fc.oneof(fc.ipV4(), fc.string(), fc.ipV6(), fc.constant('1.2.3.4 via 5.6.7.8'));
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ uuid: fc.oneof(fc.uuid(), fc.string()), ip: anyIp, secondary_data_ip: anyIp, alive: fc.boolean() }),
          { maxLength: 5 },
        ),
        (entries) => {
          const r = parseSessionList(entries, 100);
          if (!r.ok) return true;
          return r.value.every(
            (s) => isIPv4(s.dataIp) && (s.manageIp === null || isIPv4(s.manageIp)) && isSafeSessionId(s.sessionId),
          );
        },
      ),
    );
  });
});

describe('local session: exists = a session with the local data IP; alive = its liveness', () => {
  const s = (id: string, dataIp: string, alive: boolean): ZbsSession => ({
    sessionId: id,
    dataIp,
    manageIp: null,
    zone: null,
    alive,
    aliveSec: alive ? 3 : 0,
  });
  test('missing, dead, alive, and a dead old session beside a live new one', () => {
    expect(localSession([s('r', '10.0.0.2', true)], '10.0.0.1')).toBeNull();
    expect(localSession([s('old', '10.0.0.1', false)], '10.0.0.1')).toEqual(s('old', '10.0.0.1', false));
    const both = [s('old', '10.0.0.1', false), s('new', '10.0.0.1', true)];
    expect(localSession(both, '10.0.0.1')?.sessionId).toBe('new');
    expect(isAlive(localSession(both, '10.0.0.1')!)).toBe(true);
    expect(isAlive(s('x', '10.0.0.1', false))).toBe(false);
  });
});

test('login answer: token required and header-safe; never echoed in the reason', () => {
  expect(parseLogin(env({ token: 'abc.def' }))).toEqual({ ok: true, value: 'abc.def' });
  const bad = parseLogin(env({ token: 'secret value\r\nX-Evil: 1' }));
  expect(bad.ok).toBe(false);
  if (!bad.ok) {
    expect(bad.reason).toMatch(/token=\(hidden\)/);
    expect(bad.reason).not.toContain('secret value');
  }
  expect(parseLogin(env({})).ok).toBe(false);
});

test('switches answer', () => {
  expect(parseSwitches(env({ enable_reroute: false, enable_secondary_data_channel: true }))).toEqual({
    ok: true,
    value: { enableReroute: false, enableSecondaryDataChannel: true },
  });
  expect(parseSwitches(env({ enable_reroute: 'false', enable_secondary_data_channel: true }))).toEqual({
    ok: false,
    reason: 'switches answer: enable_reroute="false": Expected boolean, received string',
  });
});
