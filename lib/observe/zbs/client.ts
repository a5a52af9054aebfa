// The ZBS API client of one pass: session list, cluster switches, and authenticated calls for refresh/heartbeat. What
// outlives the pass (connections, the race's memory) is the process's link (link.ts).
// Failure is data: nothing here throws; every failure is {ok:false, reason} plus a log line saying what was wrong.
// An unusable API is never itself a reason to switch routes (DESIGN §5 "If HTTP fails, do not switch").
import type { Config } from '../../config/schema';
import type { Credentials } from '../../config/load';
import type { Log } from '../../runtime/log';
import type { ClusterSwitches, SessionsObservation } from '../../types';
import { isIPv4 } from '../../net/ipv4';
import type { ApiCache } from './cache';
import { openZbsLink, type ZbsLink } from './link';
import { race, type RaceResult } from './race';
import { parseLogin, parseSessionList, parseSwitches, type Parsed } from './schemas';

export const TOKEN_HEADER = 'X-SmartX-Token';

export interface ZbsClientDeps {
  config: Config;
  /** null: the API is used without login */
  credentials: Credentials | null;
  log: Log;
  /** the "api" slice of the state file; updated in place (token, switches), the caller saves it after the pass */
  cache: ApiCache;
  /** wall clock, epoch ms (token expiry, switches age) */
  now: () => number;
  /** the process's connections and race memory (the long-lived runner's); without it the client opens its own */
  link?: ZbsLink;
  /**
   * The signal of what the pass works from now, read at each call's start: aborted when that is out of date (the
   * runner's monitor judged the local SCVM or the target down), and then every call started under it ends at once and
   * no call is started under it; the runner starts a new pass. A pass that decided again on the new verdicts gives
   * none (lib/pass/pass.ts).
   */
  stop?: () => AbortSignal | undefined;
}

export interface ApiCall {
  method: 'GET' | 'POST' | 'PUT';
  /** absolute path; the caller has put only validated values in it */
  path: string;
  json?: unknown;
}

/** A 2xx answer of an authenticated call, or why there is none. */
export type ApiCallResult = { ok: true; status: number; body: unknown } | { ok: false; reason: string };

export interface ZbsClient {
  /** The session list, raced over the SCVMs (race.ts): local first, another only after a failure or as the hedge. */
  sessions(): Promise<SessionsObservation>;
  /** Cluster switches: the cached value while younger than api.switchesRefreshSec, else re-read (cache kept on failure). */
  switches(): Promise<ClusterSwitches | null>;
  /** One authenticated request to one SCVM (login when needed, one re-login on 401). */
  call(ip: string, req: ApiCall): Promise<ApiCallResult>;
  /** Drop the pooled connections: after a route switch, later requests open new ones. */
  dropConnections(): void;
  /** Abort this client's calls; close the connections too unless the caller gave the link. Once, at the pass's end. */
  close(): Promise<void>;
}

type Token = { ok: true; value: string | null } | { ok: false; reason: string };

const reasonOf = (signal: AbortSignal): string => (signal.reason instanceof Error ? signal.reason.message : String(signal.reason));

/** Create the client of one pass. */
export function createZbsClient(deps: ZbsClientDeps): ZbsClient {
  const { config, credentials, log, cache, now } = deps;
  const api = config.api;
  const link = deps.link ?? openZbsLink(api);
  const io = link.http;
  const closing = new AbortController();
  let spentMs = 0;

  const candidates = (): string[] => {
    const ips = [config.local.manageIp, ...config.scvms.map((s) => s.manageIp)];
    return [...new Set(ips)];
  };

  function validToken(): string | null {
    const t = cache.token;
    return t && now() < t.expiresAt ? t.value : null;
  }

  async function login(ip: string, signal: AbortSignal): Promise<Token> {
    if (!credentials) return { ok: true, value: null };
    const res = await io.request({
      ip,
      method: 'POST',
      path: api.loginPath,
      json: { username: credentials.username, password: credentials.password },
      timeoutMs: api.requestTimeoutMs,
      signal,
    });
    if (!res.ok) return { ok: false, reason: `login: ${res.reason}` };
    if (res.status < 200 || res.status > 299) {
      const hint = res.status === 401 || res.status === 403 ? ': check api.username/password or api.credentialsFile' : '';
      return { ok: false, reason: `login at ${ip} refused with HTTP ${res.status}${hint}` };
    }
    const parsed = parseLogin(res.body);
    if (!parsed.ok) return { ok: false, reason: `${parsed.reason} (from ${ip})` };
    cache.token = { value: parsed.value, expiresAt: now() + api.tokenLifetimeSec * 1000, scvm: ip };
    log.info(`ZBS API: logged in at ${ip}; token kept until ${new Date(cache.token.expiresAt).toISOString()}`);
    return { ok: true, value: parsed.value };
  }

  // Requests that start together (session list and switches to the local SCVM) share one login, not one each.
  const loggingIn = new Map<string, Promise<Token>>();

  function sharedLogin(ip: string, signal: AbortSignal): Promise<Token> {
    let pending = loggingIn.get(ip);
    if (!pending) {
      pending = login(ip, signal).finally(() => loggingIn.delete(ip));
      loggingIn.set(ip, pending);
    }
    return pending;
  }

  async function token(ip: string, signal: AbortSignal): Promise<Token> {
    if (!credentials) return { ok: true, value: null };
    const cached = validToken();
    return cached ? { ok: true, value: cached } : sharedLogin(ip, signal);
  }

  async function authed(ip: string, req: ApiCall, signal: AbortSignal): Promise<ApiCallResult> {
    const send = (t: string | null) =>
      io.request({
        ip,
        method: req.method,
        path: req.path,
        json: req.json,
        headers: t ? { [TOKEN_HEADER]: t } : {},
        timeoutMs: api.requestTimeoutMs,
        signal,
      });
    let t = await token(ip, signal);
    if (!t.ok) return t;
    let res = await send(t.value);
    if (res.ok && res.status === 401 && credentials) {
      // Refused: exactly one new login, then one retry. Another racer may already have replaced the token.
      const refused = t.value;
      if (cache.token?.value === refused) cache.token = null;
      log.info(`ZBS API: ${ip} refused the token (HTTP 401); logging in again`);
      const fresh = validToken();
      t = fresh && fresh !== refused ? { ok: true, value: fresh } : await sharedLogin(ip, signal);
      if (!t.ok) return t;
      res = await send(t.value);
      if (res.ok && res.status === 401) {
        if (cache.token?.value === t.value) cache.token = null;
        return { ok: false, reason: `${req.method} ${req.path} at ${ip}: HTTP 401 again right after a new login` };
      }
    }
    if (!res.ok) return res;
    if (res.status < 200 || res.status > 299) {
      const why = res.status === 401 ? ' (no credentials configured: set api.credentialsFile)' : '';
      return { ok: false, reason: `${req.method} ${req.path} at ${ip}: HTTP ${res.status}${why}` };
    }
    return res;
  }

  /** Run fn inside what is left of the API budget; the time it takes is spent whatever the outcome. */
  async function withinBudget<T>(what: string, fn: (signal: AbortSignal) => Promise<T>, spent: (reason: string) => T) {
    const left = api.budgetMs - spentMs;
    if (closing.signal.aborted) return spent(`${what}: client closed`);
    const stop = deps.stop?.();
    if (stop?.aborted) return spent(`${what}: not sent (${reasonOf(stop)})`);
    if (left <= 0) return spent(`${what}: API budget of ${api.budgetMs} ms already spent this pass`);
    const start = performance.now();
    const budget = new AbortController();
    const timer = setTimeout(
      () => budget.abort(new Error(`API budget of ${api.budgetMs} ms spent`)),
      Math.ceil(left), // setTimeout wants whole ms; the budget is tracked in fractional ms
    );
    try {
      return await fn(AbortSignal.any([budget.signal, closing.signal, ...(stop ? [stop] : [])]));
    } catch (e) {
      // Nothing past the client throws; an unexpected error is still just "unavailable".
      return spent(`${what}: unexpected ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
      spentMs += performance.now() - start;
    }
  }

  const raceScvms = <T>(what: string, attempt: (ip: string, signal: AbortSignal) => Promise<Parsed<T>>) =>
    withinBudget<RaceResult<T>>(
      what,
      (signal) => race({ what, ips: candidates(), state: link.race, log, signal }, attempt),
      (reason) => ({ ok: false, reason }),
    );

  const getParsed =
    <T>(path: string, parse: (body: unknown) => Parsed<T>) =>
    async (ip: string, signal: AbortSignal): Promise<Parsed<T>> => {
      const res = await authed(ip, { method: 'GET', path }, signal);
      if (!res.ok) return res;
      return parse(res.body);
    };

  return {
    async sessions() {
      const stop = deps.stop?.();
      const r = await raceScvms('session list', getParsed(api.sessionsPath, (b) => parseSessionList(b, api.maxSessions)));
      if (!r.ok && stop?.aborted) {
        // not an answer about the API: the pass stopped waiting for it (never counted as a failed ask)
        return { ok: false, reason: `not awaited: ${reasonOf(stop)}`, skipped: true };
      }
      if (!r.ok) {
        const reason = `ZBS API unavailable: ${r.reason}`;
        // the engine warns (rate-limited) with this reason: "no fresh session list (...)"
        log.debug(`session list: ${reason}`);
        return { ok: false, reason };
      }
      log.debug(`session list: ${r.value.length} sessions from ${r.from}`);
      return { ok: true, sessions: r.value, from: r.from };
    },

    async switches() {
      const stop = deps.stop?.();
      const c = cache.switches;
      const current = c ? { enableReroute: c.enableReroute, enableSecondaryDataChannel: c.enableSecondaryDataChannel } : null;
      const age = c ? now() - c.fetchedAt : Infinity;
      if (c && age >= 0 && age < api.switchesRefreshSec * 1000) return current;
      const r = await raceScvms('cluster switches', getParsed(api.switchesPath, parseSwitches));
      if (!r.ok && stop?.aborted) return current;
      if (!r.ok) {
        const kept = c ? `keeping the value read at ${new Date(c.fetchedAt).toISOString()}` : 'none known yet';
        log.warn(`cluster switches unavailable (${r.reason}); ${kept}`);
        return current;
      }
      cache.switches = { ...r.value, fetchedAt: now() };
      if (!current || current.enableReroute !== r.value.enableReroute || current.enableSecondaryDataChannel !== r.value.enableSecondaryDataChannel) {
        log.info(
          `cluster switches from ${r.from}: enable_reroute=${r.value.enableReroute} enable_secondary_data_channel=${r.value.enableSecondaryDataChannel}`,
        );
      }
      return r.value;
    },

    async call(ip, req) {
      if (!isIPv4(ip)) return { ok: false, reason: `refusing to call the API at a non-IPv4 address` };
      if (!req.path.startsWith('/')) return { ok: false, reason: `refusing a request path that is not absolute` };
      // One request to one SCVM: it counts among the process's requests in flight, as a call's first request does.
      const slot = link.race.slots.take(true);
      try {
        return await withinBudget(`${req.method} ${req.path}`, (signal) => authed(ip, req, signal), (reason) => ({
          ok: false as const,
          reason,
        }));
      } finally {
        slot?.release();
      }
    },

    dropConnections: () => io.dropConnections(),

    async close() {
      closing.abort(new Error('client closed'));
      if (!deps.link) await link.close();
    },
  };
}
