// The ZBS client against real emulators on loopback: token reuse, re-login, racing, bounded time, bad answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiCacheSchema, initialApiCache, type ApiCache } from '../../../lib/observe/zbs/cache';
import { createZbsClient, type ZbsClient } from '../../../lib/observe/zbs/client';
import { openZbsLink, type ZbsLink } from '../../../lib/observe/zbs/link';
import { BUDGET_EMPTY } from '../../../lib/observe/zbs/race';
import type { Config } from '../../../lib/config/schema';
import { recordingLog, type RecordingLog } from '../../support/log';
import { CREDENTIALS, labConfig, loginCount, maxInFlight, requestCount, scvm, startLab, type Lab } from './lab';

let lab: Lab;
let clients: ZbsClient[] = [];
let links: ZbsLink[] = [];

function client(cache: ApiCache, opts: { config?: Config; now?: () => number; log?: RecordingLog; link?: ZbsLink } = {}) {
  const c = createZbsClient({
    config: opts.config ?? lab.config,
    credentials: CREDENTIALS,
    log: opts.log ?? recordingLog(),
    cache,
    now: opts.now ?? Date.now,
    link: opts.link,
  });
  clients.push(c);
  return c;
}

/** A process's link, as the long-lived runner holds it across passes. */
function processLink(config: Config): ZbsLink {
  const link = openZbsLink(config.api);
  links.push(link);
  return link;
}

beforeEach(async () => {
  lab = await startLab(3);
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(links.map((l) => l.close()));
  clients = [];
  links = [];
  await lab.close();
});

describe('tokens', () => {
  test('one login serves many passes that share the persisted cache', async () => {
    let stored: unknown = initialApiCache();
    for (let pass = 0; pass < 5; pass++) {
      // Each pass reads the cache back from its JSON form, as the state file does.
      const cache = apiCacheSchema.parse(JSON.parse(JSON.stringify(stored)));
      const c = client(cache);
      const s = await c.sessions();
      expect(s.ok).toBe(true);
      await c.close();
      stored = cache;
    }
    expect(loginCount(lab)).toBe(1);
    expect(lab.emus[0]!.records.sessionLists).toHaveLength(5);
  });

  test('the session list and the switches asked together share one login', async () => {
    const cache = initialApiCache();
    const c = client(cache);
    const [s, sw] = await Promise.all([c.sessions(), c.switches()]);
    await c.close();
    expect(s.ok).toBe(true);
    expect(sw).not.toBeNull();
    expect(loginCount(lab)).toBe(1);
  });

  test('a refused token (401) costs exactly one new login and the call still succeeds', async () => {
    const cache = initialApiCache();
    expect((await client(cache).sessions()).ok).toBe(true);
    const first = cache.token!.value;
    lab.emus.forEach((e) => e.revokeTokens());
    const log = recordingLog();
    const s = await client(cache, { log }).sessions();
    expect(s.ok).toBe(true);
    expect(loginCount(lab)).toBe(2);
    expect(cache.token!.value).not.toBe(first);
    expect(log.messages('info').join('\n')).toMatch(/refused the token \(HTTP 401\)/);
  });

  test('a server that refuses every token gets one re-login per call, not a loop', async () => {
    const cache = initialApiCache();
    lab.emus.forEach((e) => e.patch({ refuseTokens: true }));
    const c = client(cache, { config: labConfig(1, lab.port) });
    const s = await c.sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/HTTP 401 again right after a new login/) });
    // First login (no token), then exactly one re-login after the 401.
    expect(lab.emus[0]!.records.logins).toHaveLength(2);
    expect(lab.emus[0]!.records.sessionLists).toHaveLength(2);
    expect(cache.token).toBeNull();
  });

  test('an expired token is replaced before use, without a 401 round trip', async () => {
    const cache = initialApiCache();
    let t = Date.now();
    expect((await client(cache, { now: () => t }).sessions()).ok).toBe(true);
    t += lab.config.api.tokenLifetimeSec * 1000 + 1;
    expect((await client(cache, { now: () => t }).sessions()).ok).toBe(true);
    expect(loginCount(lab)).toBe(2);
    expect(lab.emus[0]!.records.sessionLists.every((r) => r.status === 200)).toBe(true);
  });

  test('wrong credentials: unavailable with a hint, and the password never reaches the log', async () => {
    const log = recordingLog();
    const c = createZbsClient({
      config: labConfig(1, lab.port),
      credentials: { username: 'admin', password: 'wrong-pass-123' },
      log,
      cache: initialApiCache(),
      now: Date.now,
    });
    clients.push(c);
    const s = await c.sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/login at 127\.0\.0\.1 refused with HTTP 401: check/) });
    expect(JSON.stringify(log.entries)).not.toContain('wrong-pass-123');
  });

  test('the token never appears in a log line', async () => {
    const log = recordingLog();
    const cache = initialApiCache();
    await client(cache, { log }).sessions();
    lab.emus.forEach((e) => e.revokeTokens());
    await client(cache, { log }).sessions();
    await client(cache, { log }).switches();
    expect(cache.token).not.toBeNull();
    expect(JSON.stringify(log.entries)).not.toContain(cache.token!.value.split('.').pop());
  });
});

describe('racing the SCVMs', () => {
  test('the local SCVM answers first when it is healthy; nobody else is asked', async () => {
    const s = await client(initialApiCache()).sessions();
    expect(s).toEqual({ ok: true, from: scvm(0).manageIp, sessions: expect.any(Array) });
    if (s.ok) expect(s.sessions.map((x) => x.dataIp)).toEqual([0, 1, 2].map((i) => scvm(i).dataIp));
    expect(lab.emus[1]!.records.all).toHaveLength(0);
  });

  test('local API down (connection refused): a live remote SCVM answers', async () => {
    await lab.emus[0]!.close();
    const log = recordingLog();
    const s = await client(initialApiCache(), { log }).sessions();
    expect(s).toMatchObject({ ok: true, from: scvm(1).manageIp });
    expect(log.messages('debug').join('\n')).toMatch(/from 127\.0\.0\.1 unavailable: login: .*connection refused/);
  });

  test('local API hangs: the hedge goes to the next SCVM after the hedge delay and wins', async () => {
    lab.emus[0]!.patch({ faults: { all: { hang: true } } });
    const config = labConfig(3, lab.port, {
      api: { hedgeFloorMs: 100, hedgeCeilingMs: 100, requestTimeoutMs: 20_000, budgetMs: 9000 },
    });
    const started = performance.now();
    const s = await client(initialApiCache(), { config }).sessions();
    const took = performance.now() - started;
    expect(s).toMatchObject({ ok: true, from: scvm(1).manageIp });
    expect(took).toBeLessThan(8000); // waited neither for the local request's 20 s timeout nor the 9 s budget
  });

  test('local SCVM answers garbage: the next one is asked at once and wins', async () => {
    const cache = initialApiCache();
    await client(cache).sessions(); // log in first so the fault hits the list
    lab.emus[0]!.patch({ faults: { sessions: { body: 'garbage' } } });
    const log = recordingLog();
    const s = await client(cache, { log }).sessions();
    expect(s).toMatchObject({ ok: true, from: scvm(1).manageIp });
    expect(log.messages('debug').join('\n')).toMatch(/127\.0\.0\.1 unavailable: .*not JSON/);
  });
});

describe('a bounded race (issue 18): one SCVM at a time, one hedge, a retry budget', () => {
  /** A token in the cache, and the records cleared: what follows counts the session list requests only. */
  async function loggedIn(_config: Config): Promise<ApiCache> {
    const cache = initialApiCache();
    expect((await client(cache, { config: labConfig(1, lab.port) }).sessions()).ok).toBe(true);
    lab.emus.forEach((e) => e.clearRecords());
    return cache;
  }
  const lists = (i: number) => lab.emus[i]!.records.sessionLists.length;

  test('(a) a healthy local SCVM: one request a call, nobody else asked', async () => {
    const config = labConfig(4, lab.port, { api: { hedgeFloorMs: 50, hedgeCeilingMs: 5000 } });
    const cache = await loggedIn(config);
    const link = processLink(config);
    for (let pass = 0; pass < 5; pass++) {
      expect(await client(cache, { config, link }).sessions()).toMatchObject({ ok: true, from: scvm(0).manageIp });
    }
    expect(requestCount(lab)).toBe(5);
    expect(lists(0)).toBe(5);
  });

  test('(b) local refuses connections: the next SCVM is asked at once, one at a time', async () => {
    await lab.close();
    lab = await startLab(4);
    const config = labConfig(4, lab.port, { api: { hedgeFloorMs: 30_000, hedgeCeilingMs: 30_000, budgetMs: 9000 } });
    const cache = await loggedIn(config);
    await lab.emus[0]!.close(); // connection refused
    lab.emus[1]!.patch({ faults: { sessions: { status: 503 } } });
    const log = recordingLog();
    const started = performance.now();
    const s = await client(cache, { config, log }).sessions();
    expect(s).toMatchObject({ ok: true, from: scvm(2).manageIp });
    // not after a hedge delay (30 s): at once after each failure
    expect(performance.now() - started).toBeLessThan(10_000);
    expect([lists(1), lists(2), lists(3)]).toEqual([1, 1, 0]);
    expect(maxInFlight(lab, 0)).toBe(1);
    const debug = log.messages('debug').join('\n');
    expect(debug).toMatch(/session list from 127\.0\.0\.1 unavailable: .*connection refused/);
    expect(debug).toMatch(/session list from 127\.0\.0\.2 unavailable: .*HTTP 503/);
  });

  test('(c) every SCVM hangs: never more than 2 requests in flight, yet every SCVM is asked in turn', async () => {
    await lab.close();
    lab = await startLab(5);
    lab.emus.forEach((e) => e.patch({ faults: { all: { hang: true } } }));
    const config = labConfig(5, lab.port, {
      api: { hedgeFloorMs: 100, hedgeCeilingMs: 100, requestTimeoutMs: 800, connectTimeoutMs: 800, budgetMs: 9000 },
    });
    const s = await client(initialApiCache(), { config }).sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/no complete answer within 800 ms/) });
    expect(lab.emus.map((e) => e.records.logins.length)).toEqual([1, 1, 1, 1, 1]);
    // The emulator sees a connection close a moment after the client let it go: 100 ms of grace, against
    // overlaps of about 700 ms that a third request would have.
    expect(maxInFlight(lab, 100)).toBe(2);
  });

  test('(c) the session list and the switches asked together while every SCVM hangs: still 2 in flight at most', async () => {
    await lab.close();
    lab = await startLab(4);
    const config = labConfig(4, lab.port, {
      api: { hedgeFloorMs: 100, hedgeCeilingMs: 100, requestTimeoutMs: 800, connectTimeoutMs: 800, budgetMs: 9000 },
    });
    const cache = await loggedIn(config); // with a token the two calls do not share a login request
    lab.emus.forEach((e) => e.patch({ faults: { all: { hang: true } } }));
    const c = client(cache, { config });
    const [s, sw] = await Promise.all([c.sessions(), c.switches()]);
    expect(s.ok).toBe(false);
    expect(sw).toBeNull();
    expect(requestCount(lab)).toBeGreaterThanOrEqual(4);
    expect(maxInFlight(lab, 100)).toBe(2);
  });

  test('(d) the hedge delay follows the answers seen: a slow but healthy local SCVM is not hedged every call', async () => {
    const config = labConfig(3, lab.port, {
      api: { hedgeFloorMs: 50, hedgeCeilingMs: 6000, requestTimeoutMs: 10_000, budgetMs: 9000 },
    });
    const cache = await loggedIn(config);
    const link = processLink(config);
    const pass = () => client(cache, { config, link }).sessions();
    for (let i = 0; i < 5; i++) expect(await pass()).toMatchObject({ ok: true, from: scvm(0).manageIp });
    expect(link.race.latency.hedgeDelayMs()).toBeLessThan(1500); // fast loopback answers (the floor, unless loaded)

    // The local SCVM slows down to 3 s: the hedge goes early and wins, and the local answer is still awaited...
    lab.emus[0]!.patch({ faults: { sessions: { latencyMs: 3000 } } });
    expect(await pass()).toMatchObject({ ok: true, from: scvm(1).manageIp });
    await until(() => link.race.slots.inFlight() === 0);
    expect(lab.emus[0]!.records.sessionLists.at(-1)!.status).toBe(200);
    // ...so the hedge delay has learnt it.
    expect(link.race.latency.hedgeDelayMs()).toBeGreaterThanOrEqual(3000);

    // Slow but healthy (1 s, 2 s under the delay learnt): answered by the local SCVM, nobody else asked.
    lab.emus[0]!.patch({ faults: { sessions: { latencyMs: 1000 } } });
    const hedgedBefore = lists(1);
    for (let i = 0; i < 3; i++) expect(await pass()).toMatchObject({ ok: true, from: scvm(0).manageIp });
    expect(lists(1)).toBe(hedgedBefore);
  });

  test('(e) the retry budget: after repeated failures one SCVM a call, until answers refill it', async () => {
    const config = labConfig(3, lab.port, { api: { retryTokens: 2, retryRefillSec: 86_400 } });
    const cache = await loggedIn(config);
    const link = processLink(config);
    const log = recordingLog();
    const pass = () => client(cache, { config, link, log }).sessions();
    lab.emus.forEach((e) => e.patch({ faults: { sessions: { status: 503 } } }));

    expect(await pass()).toEqual({ ok: false, reason: expect.not.stringContaining(BUDGET_EMPTY) });
    expect([lists(0), lists(1), lists(2)]).toEqual([1, 1, 1]); // two retries: the budget is spent
    for (let i = 0; i < 3; i++) {
      expect(await pass()).toEqual({ ok: false, reason: expect.stringContaining(BUDGET_EMPTY) });
    }
    expect([lists(0), lists(1), lists(2)]).toEqual([4, 1, 1]);
    expect(log.messages('debug').join('\n')).toContain(`session list: ${BUDGET_EMPTY}`);

    // The local SCVM answers again: each answer gives a token back, and the next failure may try another SCVM.
    lab.emus[0]!.patch({ faults: { sessions: null } });
    expect(await pass()).toMatchObject({ ok: true, from: scvm(0).manageIp });
    lab.emus[0]!.patch({ faults: { sessions: { status: 503 } } });
    lab.emus[1]!.patch({ faults: { sessions: null } });
    expect(await pass()).toMatchObject({ ok: true, from: scvm(1).manageIp });
    expect([lists(0), lists(1), lists(2)]).toEqual([6, 2, 1]);
  });

  test('a client closed at the end of its pass leaves the process link usable for the next pass', async () => {
    const link = processLink(lab.config);
    const first = client(initialApiCache(), { link });
    expect((await first.sessions()).ok).toBe(true);
    await first.close();
    expect((await client(initialApiCache(), { link }).sessions()).ok).toBe(true);
  });
});

async function until(cond: () => boolean, limitMs = 15_000): Promise<void> {
  const end = performance.now() + limitMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('API unavailable: every failure is data, with a debug line (the engine warns, rate-limited)', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['HTTP 5xx', { status: 503 }, /HTTP 503/],
    ['garbage body', { body: 'garbage' }, /not JSON/],
    ['wrong types', { body: 'wrongTypes' }, /session list: expected an array/],
    ['empty body', { body: 'empty' }, /expected an array, got null/],
    ['huge body', { body: 'huge', hugeBytes: 6 * 1024 * 1024 }, /larger than api\.maxBodyBytes/],
    ['connection reset', { reset: true }, /reset|socket|closed/i],
  ];
  test.each(cases)('%s from every SCVM -> unavailable', async (_name, fault, why) => {
    lab.emus.forEach((e) => e.patch({ faults: { sessions: fault } }));
    const log = recordingLog();
    const s = await client(initialApiCache(), { log }).sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(why) });
    expect(log.messages('debug').filter((m) => why.test(m)).length).toBeGreaterThanOrEqual(3);
  });

  test('hostile session entries refuse the list before anything uses them', async () => {
    const hostile = [
      { ip: '10.0.0.1 via 1.2.3.4' },
      { ip: '-d' },
      { ip: 'fe80::1' },
      { ip: '' },
      { uuid: '../../etc' },
      { uuid: 'a/b' },
      { uuid: 'a%2fb' },
      { uuid: 'a b' },
      { secondary_data_ip: '1.2.3.4; reboot' },
    ];
    for (const h of hostile) {
      lab.emus.forEach((e) => e.patch({ sessions: [{ uuid: 'ok-1', ip: '10.10.85.15', alive: true, ...h }] }));
      const log = recordingLog();
      const s = await client(initialApiCache(), { log }).sessions();
      expect(s).toEqual({ ok: false, reason: expect.stringMatching(/entry 0 refused/) });
    }
  });

  test('an absurd list (more than api.maxSessions) is refused', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ uuid: `s${i}`, ip: `10.1.0.${i}`, alive: true }));
    lab.emus.forEach((e) => e.patch({ sessions: many }));
    const s = await client(initialApiCache(), { config: labConfig(3, lab.port, { api: { maxSessions: 20 } }) }).sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/50 entries, more than api\.maxSessions 20/) });
  });

  test('a list without any liveness field is refused, not read as "dead" or "alive"', async () => {
    lab.emus.forEach((e) => e.patch({ livenessFields: 'none' }));
    const s = await client(initialApiCache()).sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/neither "alive" nor "alive_sec"/) });
  });
});

describe('time is bounded', () => {
  test('every SCVM hangs: sessions() gives up within api.budgetMs', async () => {
    lab.emus.forEach((e) => e.patch({ faults: { all: { hang: true } } }));
    const config = labConfig(3, lab.port, {
      api: { budgetMs: 700, requestTimeoutMs: 20_000, hedgeFloorMs: 100, hedgeCeilingMs: 100 },
    });
    const c = client(initialApiCache(), { config });
    const started = performance.now();
    const s = await c.sessions();
    const took = performance.now() - started;
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/abandoned \(API budget of 700 ms spent\)/) });
    expect(took).toBeGreaterThan(650);
    expect(took).toBeLessThan(10_000); // the budget, not the 20 s request timeout
    // The budget is spent: later calls of the pass fail at once, without a request that would hang.
    const t2 = performance.now();
    expect(await c.call(scvm(1).manageIp, { method: 'GET', path: '/x' })).toEqual({
      ok: false,
      reason: expect.stringMatching(/budget of 700 ms already spent/),
    });
    expect(performance.now() - t2).toBeLessThan(5000);
  });

  test('a slow server answers past api.requestTimeoutMs: unavailable within the request timeout', async () => {
    const config = labConfig(1, lab.port, { api: { requestTimeoutMs: 300 } });
    lab.emus[0]!.patch({ faults: { all: { latencyMs: 20_000 } } });
    const started = performance.now();
    const s = await client(initialApiCache(), { config }).sessions();
    expect(s).toEqual({ ok: false, reason: expect.stringMatching(/no complete answer within 300 ms/) });
    expect(performance.now() - started).toBeLessThan(10_000); // not the 20 s the server takes
  });

  test('a server that accepts TCP but never answers the login is bounded too', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, scvm(0).manageIp, () => r()));
    try {
      const port = (silent.address() as AddressInfo).port;
      const config = labConfig(1, port, { api: { requestTimeoutMs: 250 } });
      const started = performance.now();
      const s = await client(initialApiCache(), { config }).sessions();
      expect(s).toEqual({ ok: false, reason: expect.stringMatching(/login: .*no complete answer within 250 ms/) });
      expect(performance.now() - started).toBeLessThan(10_000); // the server never answers
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('cluster switches', () => {
  test('read once, served from the cache until api.switchesRefreshSec, then re-read', async () => {
    const cache = initialApiCache();
    let t = 1_000_000_000_000;
    const now = () => t;
    expect(await client(cache, { now }).switches()).toEqual({ enableReroute: true, enableSecondaryDataChannel: false });
    lab.emus.forEach((e) => e.patch({ switches: { enable_secondary_data_channel: true } }));
    t += (lab.config.api.switchesRefreshSec - 1) * 1000;
    expect(await client(cache, { now }).switches()).toEqual({ enableReroute: true, enableSecondaryDataChannel: false });
    t += 2000;
    expect(await client(cache, { now }).switches()).toEqual({ enableReroute: true, enableSecondaryDataChannel: true });
    expect(lab.emus[0]!.records.switches).toHaveLength(2);
    expect(cache.switches).toEqual({ enableReroute: true, enableSecondaryDataChannel: true, fetchedAt: t });
  });

  test('a failed re-read keeps the cached value; none known gives null', async () => {
    lab.emus.forEach((e) => e.patch({ faults: { switches: { status: 500 } } }));
    expect(await client(initialApiCache()).switches()).toBeNull();
    const cache: ApiCache = {
      token: null,
      switches: { enableReroute: false, enableSecondaryDataChannel: true, fetchedAt: 0 },
    };
    const log = recordingLog();
    expect(await client(cache, { log }).switches()).toEqual({ enableReroute: false, enableSecondaryDataChannel: true });
    expect(log.messages('warn').join('\n')).toMatch(/cluster switches unavailable .*keeping the value read at 1970/);
    expect(cache.switches!.fetchedAt).toBe(0);
  });
});

test('the cache schema refuses a token that could not go into a header and a bad scvm', () => {
  const ok = { token: { value: 'abc', expiresAt: 1, scvm: '127.0.0.1' }, switches: null };
  expect(apiCacheSchema.parse(ok)).toEqual(ok);
  expect(apiCacheSchema.parse({})).toEqual(initialApiCache());
  expect(apiCacheSchema.safeParse({ ...ok, token: { ...ok.token, value: 'a b\r\n' } }).success).toBe(false);
  expect(apiCacheSchema.safeParse({ ...ok, token: { ...ok.token, scvm: '-d' } }).success).toBe(false);
});

describe('issue 27: a pass whose verdicts went out of date stops its API calls', () => {
  function stoppable(cache: ApiCache, stop: () => AbortSignal | undefined) {
    const c = createZbsClient({ config: lab.config, credentials: CREDENTIALS, log: recordingLog(), cache, now: Date.now, stop });
    clients.push(c);
    return c;
  }

  test('a heartbeat in flight ends at once; a list in flight is "not awaited", never a failed ask; none starts after', async () => {
    lab.emus.forEach((e) => e.patch({ faults: { all: { latencyMs: 1500 } } }));
    const out = new AbortController();
    const c = stoppable(initialApiCache(), () => out.signal);
    const t = Date.now();
    const heartbeat = c.call(scvm(0).manageIp, { method: 'POST', path: lab.config.api.heartbeatPath, json: {} });
    const list = c.sessions();
    setTimeout(() => out.abort(new Error('10.10.85.15 went down during the pass')), 200);
    expect(await heartbeat).toEqual({ ok: false, reason: expect.stringContaining('went down during the pass') });
    expect(await list).toEqual({ ok: false, reason: expect.stringMatching(/^not awaited: .*went down/), skipped: true });
    expect(Date.now() - t).toBeLessThan(800); // not the 1.5 s of the answers (nor a timeout)
    const before = requestCount(lab);
    expect(await c.call(scvm(1).manageIp, { method: 'POST', path: lab.config.api.heartbeatPath, json: {} })).toMatchObject({ ok: false, reason: expect.stringContaining('not sent') });
    expect(requestCount(lab)).toBe(before);
  });

  test('without a stop signal (the pass decided again on the new verdicts) calls go as usual', async () => {
    const c = stoppable(initialApiCache(), () => undefined);
    expect(await c.sessions()).toMatchObject({ ok: true });
  });
});
