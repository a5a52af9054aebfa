// The status headline and --check's severity for every state the agent can be in (issue 29 item 1-2): pure facts in,
// conditions out, most severe first.
import { checkLine, conditions, EXIT_CODE, human, worst, type StatusFacts } from '../../../lib/cli/status/headline';

const MIN = 60_000;
const NOW = 10 * 24 * 60 * MIN;
const LOCAL = '10.10.85.15';
const REMOTE = '10.10.85.16';

function facts(over: Partial<StatusFacts> = {}): StatusFacts {
  return {
    now: NOW,
    wallOf: (t) => Date.UTC(2026, 11, 7) + t - NOW,
    localDataIp: LOCAL,
    target: LOCAL,
    route: { ok: true, nextHops: [LOCAL] },
    lastPass: { at: NOW - 1000, ok: true },
    runner: 'alive',
    lastReason: 'local-ok',
    pin: null,
    local: { down: false, downSince: null, healthySince: NOW - 60 * MIN },
    stableSec: 180,
    api: null,
    configFallback: null,
    thresholds: { warnReroutedSec: 900, criticalLastPassSec: 30 },
    ...over,
  };
}

const rerouted = { target: REMOTE, route: { ok: true as const, nextHops: [REMOTE] }, lastReason: 'local-icmp-down' as const };

test.each<[string, Partial<StatusFacts>, string, RegExp]>([
  ['all well', {}, 'OK', /^OK: routed via the local SCVM 10\.10\.85\.15$/],
  [
    'rerouted 5 min, local still down',
    { ...rerouted, local: { down: true, downSince: NOW - 5 * MIN, healthySince: null } },
    'OK',
    /^REROUTED to 10\.10\.85\.16 since 2026-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \(for 5 min\), back 3 min after the local SCVM is healthy$/,
  ],
  [
    'rerouted 20 min, local healthy for 100 s',
    { ...rerouted, lastReason: 'local-stable', local: { down: false, downSince: NOW - 20 * MIN, healthySince: NOW - 100_000 } },
    'WARNING',
    /^REROUTED to 10\.10\.85\.16 since .* \(for 20 min\), back in ~80 s$/,
  ],
  [
    'pinned by a person, with a reason',
    { ...rerouted, lastReason: 'pinned', pin: { target: REMOTE, until: NOW + 30 * MIN, by: 'alice', from: '10.0.0.9', reason: 'CHG-77', force: true } },
    'WARNING',
    /^PINNED to 10\.10\.85\.16 by alice from 10\.0\.0\.9 until .* [+-]\d{4}, forced \(CHG-77\)$/,
  ],
  ['local down and nowhere to go', { lastReason: 'no-healthy-target', local: { down: true, downSince: NOW - MIN, healthySince: null } }, 'CRITICAL', /^LOCAL DOWN, NO HEALTHY TARGET$/],
  ['the cluster turned reroute off', { lastReason: 'reroute-disabled' }, 'WARNING', /^DISABLED by the cluster \(enable_reroute off\)$/],
  ['secondary data channel', { target: '10.10.86.16', route: { ok: true, nextHops: ['10.10.86.16'] }, lastReason: 'secondary-channel' }, 'WARNING', /^SECONDARY CHANNEL: routed via management IP 10\.10\.86\.16$/],
  ['API down', { api: { failingSince: NOW - 3 * MIN, error: 'GET /api/v2/zbs_session/sessions at 10.10.86.15: connect ECONNREFUSED' } }, 'WARNING', /^API DOWN since .*: GET .* ECONNREFUSED$/],
  ['login refused', { api: { failingSince: NOW - 3 * MIN, error: 'login at 10.10.86.15 refused with HTTP 401: check api.username/password' } }, 'WARNING', /^API LOGIN REFUSED since /],
  ['stale: a runner holds the lock but passes stopped', { lastPass: { at: NOW - 45_000, ok: true } }, 'CRITICAL', /^STALE: last pass 45 s ago while a runner holds the lock$/],
  ['runner down', { lastPass: { at: NOW - 5 * MIN, ok: true }, runner: 'none' }, 'CRITICAL', /^RUNNER DOWN: last pass 5 min ago, no runner holds the lock$/],
  ['never ran', { lastPass: null, runner: 'none', lastReason: null, target: null }, 'CRITICAL', /^RUNNER DOWN: no pass recorded/],
  [
    'the last pass failed, the one before went well 5 s ago',
    { lastPass: { at: NOW - 1000, ok: false, error: 'route change to 10.10.85.16 failed: exit 1', okAt: NOW - 5000 } },
    'WARNING',
    /^LAST PASS FAILED at .* [+-]\d{4}: route change to 10\.10\.85\.16 failed: exit 1 \(the last good pass 5 s ago\)$/,
  ],
  [
    'passes failing for longer than status.criticalLastPassSec',
    { lastPass: { at: NOW - 1000, ok: false, error: 'the pass ran past its deadline', okAt: NOW - 2 * MIN } },
    'CRITICAL',
    /^LAST PASS FAILED at .*: the pass ran past its deadline \(the last good pass 2 min ago\)$/,
  ],
  ['no pass ever went well', { lastPass: { at: NOW - 1000, ok: false, error: 'x', okAt: null } }, 'CRITICAL', /^LAST PASS FAILED at .*: x \(no pass went well before it\)$/],
  ['no route at all', { route: { ok: true, nextHops: [] } }, 'CRITICAL', /^NO ROUTE to the NFS VIP$/],
  ['the kernel disagrees', { route: { ok: true, nextHops: [REMOTE] } }, 'WARNING', /^ROUTE DIFFERS FROM AGENT: the kernel routes via 10\.10\.85\.16, the agent via 10\.10\.85\.15$/],
  ['an invalid config, on the last good one', { configFallback: 'config /x: decide.backToNormalSec ...; running on the last good config' }, 'WARNING', /^CONFIG INVALID: /],
])('%s', (_name, over, severity, headline) => {
  const list = conditions(facts(over));
  expect(worst(list)).toBe(severity);
  expect(list[0]!.text).toMatch(headline);
});

test('a recent pass with no runner is fine (one-pass mode, or between two runners)', () => {
  expect(worst(conditions(facts({ runner: 'none' })))).toBe('OK');
});

test('several conditions: the worst first, the exit code is the worst one, perfdata after a bar', () => {
  const list = conditions(
    facts({ ...rerouted, local: { down: true, downSince: null, healthySince: null }, lastPass: { at: NOW - 40_000, ok: true }, api: { failingSince: NOW - MIN, error: 'x' } }),
  );
  expect(list.map((c) => c.code)).toEqual(['stale', 'api-down', 'rerouted']);
  const line = checkLine(list, { last_pass_age_seconds: 40, rerouted_seconds: null });
  expect(line).toMatch(/^REROUTE CRITICAL: STALE: .*; API DOWN since .*; REROUTED to 10\.10\.85\.16, back 3 min after .* \| last_pass_age_seconds=40$/);
  expect(line.split('\n')).toHaveLength(1);
  expect(EXIT_CODE[worst(list)]).toBe(2);
});

test('durations read as a person says them', () => {
  expect([human(45_000), human(12 * MIN), human(185 * MIN), human(50 * 60 * MIN)]).toEqual(['45 s', '12 min', '3 h 5 min', '2 d 2 h']);
});
