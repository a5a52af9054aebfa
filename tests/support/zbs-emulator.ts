// A ZBS API emulator: a real Node http server serving the endpoints the agent uses, from programmable state.
//
// API served (paths are the agent's config defaults; change them with state.paths):
//   POST /api/v3/sessions                        login {"username","password"} -> {"data":{"token"}} (401 when wrong)
//   GET  /api/v2/zbs_session/sessions            session list (needs X-SmartX-Token)
//   PUT  /api/v2/zbs_session/session/<uuid>      session refresh, body exactly {"local_clients_ips":"a,b"}
//   POST /api/v2/reroute/heartbeat               heartbeat, body exactly {hypervisor_ip, local_scvm_data_ip,
//                                                local_scvm_manage_ip, nfs_target_ip, ttl}
//   GET  /api/v2/reroute/config                  cluster switches {enable_reroute, enable_secondary_data_channel}
// Answers use the SmartX envelope {"ec":"EOK","error":{},"data":...}; errors {"ec":"E...","error":{"msg"},"data":null}.
//
// Control API (for curl and for the simulated cluster; docs/zbs-emulator.md has examples):
//   GET  /_emu/state                 the programmable state as JSON
//   POST /_emu/state                 JSON merge patch of the state (objects merge, arrays and scalars replace,
//                                    null removes a key); answers the new state
//   POST /_emu/session/<uuid>        merge patch of one session (404 when unknown)
//   GET  /_emu/records               every login, list call, switches read, refresh and heartbeat received
//   POST /_emu/records/clear         forget the records
//   POST /_emu/tokens/revoke         every token issued so far is refused from now on (401)
// Control endpoints need no token and are never subject to faults.
//
// Tokens are HMACs of (expiry, epoch) under state.secret, so emulators sharing a secret (one per SCVM of a simulated
// cluster, or many in one process: startZbsEmulators, `--hosts`) accept each other's tokens, as a real cluster does.
// Revoking bumps state.tokenEpoch (set the same epoch on every emulator to revoke cluster-wide).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';

/** One session as the emulator serves it. */
export interface EmuSession {
  uuid: string;
  /** storage IP (the answer's "ip"); any string, so tests can serve hostile values */
  ip: string;
  secondary_data_ip?: string | null;
  zone?: string | null;
  cid?: number;
  machine_id?: string;
  /** static liveness when no flap schedule is set */
  alive?: boolean;
  /** left out of the list (as after the session is lost) */
  missing?: boolean;
  /** liveness toggles every flapPeriodSec seconds, alive first, counted from flapStart (epoch ms; default: start) */
  flapPeriodSec?: number;
  flapStart?: number;
  /** any extra/overriding fields served verbatim (e.g. {"alive": "yes"} to serve a wrong type) */
  raw?: Record<string, unknown>;
}

export type Endpoint = 'login' | 'sessions' | 'refresh' | 'heartbeat' | 'switches';

/** A fault applied to one endpoint (or to all under the key "all"). */
export interface Fault {
  /** wait this long before answering, ms */
  latencyMs?: number;
  /** answer this HTTP status (e.g. 500, 503, 401) with a small error body */
  status?: number;
  /** answer 200 with: "garbage" (not JSON), "wrongTypes" (JSON of the wrong shape), "empty", "huge" (hugeBytes) */
  body?: 'garbage' | 'wrongTypes' | 'empty' | 'huge';
  hugeBytes?: number;
  /** accept the request and never answer (the socket stays open until the client gives up) */
  hang?: boolean;
  /** destroy the connection without an answer */
  reset?: boolean;
  /** apply to the next N matching requests only, then the fault removes itself */
  times?: number;
}

export interface EmuState {
  username: string;
  password: string;
  /** lifetime of issued tokens, s */
  tokenLifetimeSec: number;
  /** every token is refused (401), login still works */
  refuseTokens: boolean;
  /** login answers 401 whatever the credentials */
  refuseLogin: boolean;
  /** tokens of another epoch are refused; /_emu/tokens/revoke bumps it */
  tokenEpoch: number;
  /** HMAC key of tokens; emulators of one simulated cluster share it */
  secret: string;
  /** which liveness fields the list carries: versions without a session-alive field exist */
  livenessFields: 'both' | 'alive' | 'alive_sec' | 'none';
  /** wrap answers in the SmartX envelope */
  envelope: boolean;
  /**
   * the heartbeat takes a pin's audit fields (pin_by, pin_from, pin_reason, pin_forced: strings) beside its five keys;
   * false (default): exactly the five, as the body is documented, anything more is a 400
   */
  heartbeatPinFields: boolean;
  sessions: EmuSession[];
  switches: { enable_reroute: boolean; enable_secondary_data_channel: boolean };
  faults: Partial<Record<Endpoint | 'all', Fault>>;
  paths: {
    login: string;
    sessions: string;
    /** prefix; the session uuid follows */
    refreshPrefix: string;
    heartbeat: string;
    switches: string;
  };
}

export interface EmuRecord {
  at: number;
  endpoint: Endpoint;
  method: string;
  path: string;
  status: number;
  /** parsed JSON body, when it was JSON (login: only the username is kept) */
  body?: unknown;
  /** the exact body text (refresh and heartbeat only) */
  rawBody?: string;
  /** refresh: the uuid in the path */
  sessionId?: string;
  remote?: string;
  /** when the answer was sent in full, or the connection closed without one (epoch ms); absent while still open */
  endedAt?: number;
}

export interface EmuRecords {
  logins: EmuRecord[];
  sessionLists: EmuRecord[];
  switches: EmuRecord[];
  refreshes: EmuRecord[];
  heartbeats: EmuRecord[];
  /** every API request in order (control calls excluded) */
  all: EmuRecord[];
}

/** The state a fresh emulator starts with: one alive session, default paths, no faults. */
export function defaultEmuState(): EmuState {
  return {
    username: 'admin',
    password: 'secret',
    tokenLifetimeSec: 7 * 86_400,
    refuseTokens: false,
    refuseLogin: false,
    tokenEpoch: 1,
    secret: 'reroute-emulator',
    livenessFields: 'both',
    envelope: true,
    heartbeatPinFields: false,
    sessions: [],
    switches: { enable_reroute: true, enable_secondary_data_channel: false },
    faults: {},
    paths: {
      login: '/api/v3/sessions',
      sessions: '/api/v2/zbs_session/sessions',
      refreshPrefix: '/api/v2/zbs_session/session/',
      heartbeat: '/api/v2/reroute/heartbeat',
      switches: '/api/v2/reroute/config',
    },
  };
}

function emptyRecords(): EmuRecords {
  return { logins: [], sessionLists: [], switches: [], refreshes: [], heartbeats: [], all: [] };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch, applied in place. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (isPlainObject(v) && isPlainObject(target[k])) mergePatch(target[k] as Record<string, unknown>, v);
    else target[k] = structuredClone(v);
  }
}

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEARTBEAT_KEYS = ['hypervisor_ip', 'local_scvm_data_ip', 'local_scvm_manage_ip', 'nfs_target_ip', 'ttl'];
const PIN_KEYS = ['pin_by', 'pin_from', 'pin_reason', 'pin_forced'];

export interface ZbsEmulator {
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  /** live state: mutate it directly or through patch() */
  readonly state: EmuState;
  readonly records: EmuRecords;
  patch(p: Record<string, unknown>): EmuState;
  /** patch one session by uuid */
  patchSession(uuid: string, p: Record<string, unknown>): void;
  /** refuse every token issued so far */
  revokeTokens(): void;
  clearRecords(): void;
  /** liveness of a session at time t (epoch ms), schedule applied */
  aliveAt(s: EmuSession, t: number): boolean;
  close(): Promise<void>;
}

export interface EmuOptions {
  host?: string;
  /** 0 = ephemeral */
  port?: number;
  /** merge patch applied over the default state */
  state?: Record<string, unknown>;
}

/** Start an emulator; resolves once it listens. */
export function startZbsEmulator(opts: EmuOptions = {}): Promise<ZbsEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const state = defaultEmuState();
  if (opts.state) mergePatch(state as unknown as Record<string, unknown>, opts.state);
  let records = emptyRecords();
  const startedAt = Date.now();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const sign = (payload: string) => createHmac('sha256', state.secret).update(payload).digest('base64url');
  const issueToken = (): string => {
    const payload = `${Date.now() + state.tokenLifetimeSec * 1000}.${state.tokenEpoch}`;
    return `emu.${payload}.${sign(payload)}`;
  };
  const tokenOk = (token: string | undefined): boolean => {
    if (!token || state.refuseTokens) return false;
    const m = /^emu\.(\d+)\.(\d+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return false;
    const payload = `${m[1]}.${m[2]}`;
    const want = Buffer.from(sign(payload));
    const got = Buffer.from(m[3] as string);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    return Number(m[2]) === state.tokenEpoch && Number(m[1]) > Date.now();
  };

  const aliveAt = (s: EmuSession, t: number): boolean => {
    if (s.flapPeriodSec && s.flapPeriodSec > 0) {
      const since = t - (s.flapStart ?? startedAt);
      return Math.floor(since / (s.flapPeriodSec * 1000)) % 2 === 0;
    }
    return s.alive ?? true;
  };
  const aliveSecAt = (s: EmuSession, t: number): number => {
    if (!aliveAt(s, t)) return 0;
    if (s.flapPeriodSec && s.flapPeriodSec > 0) {
      const since = t - (s.flapStart ?? startedAt);
      return Math.floor((since % (s.flapPeriodSec * 1000)) / 1000) + 1;
    }
    return Math.floor((t - startedAt) / 1000) + 1;
  };

  const listBody = () => {
    const t = Date.now();
    return state.sessions
      .filter((s) => !s.missing)
      .map((s) => {
        const out: Record<string, unknown> = {
          uuid: s.uuid,
          ip: s.ip,
          secondary_data_ip: s.secondary_data_ip ?? null,
          zone: s.zone ?? 'default',
          cid: s.cid ?? 1,
          machine_id: s.machine_id ?? `machine-${s.uuid}`,
        };
        if (state.livenessFields === 'both' || state.livenessFields === 'alive') out.alive = aliveAt(s, t);
        if (state.livenessFields === 'both' || state.livenessFields === 'alive_sec') out.alive_sec = aliveSecAt(s, t);
        return { ...out, ...s.raw };
      });
  };

  const wrap = (data: unknown) => (state.envelope ? { ec: 'EOK', error: {}, data } : data);
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const fail = (res: ServerResponse, status: number, ec: string, msg: string) =>
    send(res, status, { ec, error: { msg }, data: null });

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 1024 * 1024) chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', () => resolve(''));
    });

  const endpointOf = (method: string, path: string): Endpoint | null => {
    const p = state.paths;
    if (method === 'POST' && path === p.login) return 'login';
    if (method === 'GET' && path === p.sessions) return 'sessions';
    if (method === 'PUT' && path.startsWith(p.refreshPrefix)) return 'refresh';
    if (method === 'POST' && path === p.heartbeat) return 'heartbeat';
    if (method === 'GET' && path === p.switches) return 'switches';
    return null;
  };

  const takeFault = (ep: Endpoint): Fault | null => {
    for (const key of [ep, 'all'] as const) {
      const f = state.faults[key];
      if (!f) continue;
      if (f.times !== undefined) {
        if (f.times <= 1) delete state.faults[key];
        else f.times -= 1;
      }
      return f;
    }
    return null;
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const method = req.method ?? 'GET';
    const body = method === 'POST' ? await readBody(req) : '';
    let json: unknown = {};
    if (body.trim() !== '') {
      try {
        json = JSON.parse(body);
      } catch {
        return fail(res, 400, 'EBADJSON', 'control body is not JSON');
      }
    }
    if (path === '/_emu/state' && method === 'GET') return send(res, 200, state);
    if (path === '/_emu/state' && method === 'POST') {
      if (!isPlainObject(json)) return fail(res, 400, 'EBADPATCH', 'a JSON object (merge patch) is expected');
      emu.patch(json);
      return send(res, 200, state);
    }
    if (path.startsWith('/_emu/session/') && method === 'POST') {
      const uuid = decodeURIComponent(path.slice('/_emu/session/'.length));
      if (!state.sessions.some((s) => s.uuid === uuid)) return fail(res, 404, 'ENOTFOUND', `no session ${uuid}`);
      if (!isPlainObject(json)) return fail(res, 400, 'EBADPATCH', 'a JSON object (merge patch) is expected');
      emu.patchSession(uuid, json);
      return send(res, 200, state.sessions.find((s) => s.uuid === uuid));
    }
    if (path === '/_emu/records' && method === 'GET') return send(res, 200, records);
    if (path === '/_emu/records/clear' && method === 'POST') {
      emu.clearRecords();
      return send(res, 200, { ok: true });
    }
    if (path === '/_emu/tokens/revoke' && method === 'POST') {
      emu.revokeTokens();
      return send(res, 200, { tokenEpoch: state.tokenEpoch });
    }
    return fail(res, 404, 'ENOTFOUND', `no control endpoint ${method} ${path}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path.startsWith('/_emu/')) return control(req, res, path);
    const ep = endpointOf(method, path);
    const bodyText = await readBody(req);
    if (!ep) return fail(res, 404, 'ENOTFOUND', `no endpoint ${method} ${path}`);
    const rec: EmuRecord = { at: Date.now(), endpoint: ep, method, path, status: 0, remote: req.socket.remoteAddress };
    res.once('close', () => {
      rec.endedAt = Date.now();
    });
    const finish = (status: number, body: unknown) => {
      rec.status = status;
      send(res, status, body);
    };
    const log = () => {
      records.all.push(rec);
      const bucket = { login: 'logins', sessions: 'sessionLists', switches: 'switches', refresh: 'refreshes', heartbeat: 'heartbeats' } as const;
      records[bucket[ep]].push(rec);
    };
    log();

    let parsed: unknown;
    try {
      parsed = bodyText.trim() === '' ? undefined : JSON.parse(bodyText);
    } catch {
      parsed = undefined;
    }
    if (ep === 'login') rec.body = isPlainObject(parsed) ? { username: parsed.username } : undefined;
    else if (parsed !== undefined) rec.body = parsed;
    if (ep === 'refresh' || ep === 'heartbeat') rec.rawBody = bodyText;

    const fault = takeFault(ep);
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (res.destroyed || !server.listening) return;
    if (fault?.hang) {
      rec.status = -1;
      return;
    }
    if (fault?.reset) {
      rec.status = -2;
      req.socket.destroy();
      return;
    }
    if (fault?.status) return finish(fault.status, { ec: 'EFAULT', error: { msg: 'injected fault' }, data: null });
    if (fault?.body === 'garbage') return finish(200, '<html>502 bad gateway</html>{"data":');
    if (fault?.body === 'empty') return finish(200, '');
    if (fault?.body === 'wrongTypes') return finish(200, wrap({ token: 42, sessions: 'none', enable_reroute: 'yes' }));
    if (fault?.body === 'huge') {
      const n = fault.hugeBytes ?? 8 * 1024 * 1024;
      rec.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < n) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('[]');
      };
      res.on('error', () => undefined);
      return pump();
    }

    if (ep === 'login') {
      const p = parsed as { username?: unknown; password?: unknown } | undefined;
      if (state.refuseLogin || !p || p.username !== state.username || p.password !== state.password) {
        return finish(401, { ec: 'EAUTH', error: { msg: 'wrong username or password' }, data: null });
      }
      return finish(200, wrap({ token: issueToken() }));
    }
    if (!tokenOk(req.headers['x-smartx-token'] as string | undefined)) {
      return finish(401, { ec: 'EAUTH', error: { msg: 'token missing, expired or refused' }, data: null });
    }
    if (ep === 'sessions') return finish(200, wrap(listBody()));
    if (ep === 'switches') return finish(200, wrap(state.switches));
    if (ep === 'refresh') {
      const id = decodeURIComponent(path.slice(state.paths.refreshPrefix.length));
      rec.sessionId = id;
      if (!state.sessions.some((s) => s.uuid === id && !s.missing)) {
        return finish(404, { ec: 'ENOTFOUND', error: { msg: `no session ${id}` }, data: null });
      }
      const ok =
        isPlainObject(parsed) &&
        Object.keys(parsed).length === 1 &&
        typeof parsed.local_clients_ips === 'string' &&
        parsed.local_clients_ips.split(',').every((ip) => DOTTED_QUAD.test(ip));
      if (!ok) return finish(400, { ec: 'EBADBODY', error: { msg: 'body must be {"local_clients_ips":"a,b"}' }, data: null });
      return finish(200, wrap({}));
    }
    // heartbeat
    const extra = isPlainObject(parsed) ? Object.keys(parsed).filter((k) => !HEARTBEAT_KEYS.includes(k)) : [];
    const extraOk = extra.length === 0 || (state.heartbeatPinFields && extra.every((k) => PIN_KEYS.includes(k) && typeof (parsed as Record<string, unknown>)[k] === 'string'));
    const ok =
      isPlainObject(parsed) &&
      extraOk &&
      HEARTBEAT_KEYS.every((k) => k in parsed) &&
      HEARTBEAT_KEYS.slice(0, 4).every((k) => typeof parsed[k] === 'string' && DOTTED_QUAD.test(parsed[k] as string)) &&
      Number.isInteger(parsed.ttl) &&
      (parsed.ttl as number) > 0;
    if (!ok) return finish(400, { ec: 'EBADBODY', error: { msg: `body must be exactly ${HEARTBEAT_KEYS.join(', ')}` }, data: null });
    return finish(200, wrap({}));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) fail(res, 500, 'EINTERNAL', `emulator bug: ${(e as Error).message}`);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const emu: ZbsEmulator = {
    host,
    port: 0,
    url: '',
    state,
    get records() {
      return records;
    },
    patch(p) {
      mergePatch(state as unknown as Record<string, unknown>, p);
      return state;
    },
    patchSession(uuid, p) {
      const s = state.sessions.find((x) => x.uuid === uuid);
      if (!s) throw new Error(`emulator: no session ${uuid}`);
      mergePatch(s as unknown as Record<string, unknown>, p);
    },
    revokeTokens() {
      state.tokenEpoch += 1;
    },
    clearRecords() {
      records = emptyRecords();
    },
    aliveAt,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.removeListener('error', reject);
      const port = (server.address() as AddressInfo).port;
      Object.assign(emu, { port, url: `http://${host}:${port}` });
      resolve(emu);
    });
  });
}

const HOST_ITEM = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})(?:-(\d{1,3}))?$/;

/**
 * The addresses a `--hosts` list names: comma-separated dotted quads, where the last octet may be a range
 * ("127.11.0.1-255" is 255 addresses). Throws a one-line error naming the bad item.
 */
export function parseHostList(spec: string): string[] {
  const out: string[] = [];
  for (const item of spec.split(',')) {
    const m = HOST_ITEM.exec(item.trim());
    const ends = m ? [m[2], m[3] ?? m[2]].map((last) => `${m[1]}${last}`) : [];
    const [from, to] = m ? [Number(m[2]), Number(m[3] ?? m[2])] : [NaN, NaN];
    if (!m || !ends.every((ip) => DOTTED_QUAD.test(ip)) || !(to >= from)) {
      throw new Error(`--hosts: "${item}" is not an IPv4 address or a range such as 127.11.0.1-255`);
    }
    for (let last = from; last <= to; last++) out.push(`${m[1]}${last}`);
  }
  if (new Set(out).size !== out.length) throw new Error(`--hosts: an address is named twice in "${spec}"`);
  return out;
}

/**
 * One emulator per address (each with its own state, the same patch applied to each), all on one port: `port`, or
 * with 0 the port the first one got. An ephemeral port taken on a later address by someone else means starting over
 * on a new one (a few times).
 */
export async function startZbsEmulators(hosts: string[], opts: Omit<EmuOptions, 'host'> = {}): Promise<ZbsEmulator[]> {
  if (hosts.length === 0) throw new Error('no address to listen on');
  for (let attempt = 0; ; attempt++) {
    const emus: ZbsEmulator[] = [];
    try {
      for (const host of hosts) {
        emus.push(await startZbsEmulator({ ...opts, host, port: emus[0]?.port ?? opts.port ?? 0 }));
      }
      return emus;
    } catch (e) {
      await Promise.all(emus.map((x) => x.close()));
      if ((opts.port ?? 0) !== 0 || attempt >= 4) throw e;
    }
  }
}

/** Command-line entry used by scripts/zbs-emulator: --host H | --hosts LIST, --port P [--state file.json]. */
export async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const usage = 'usage: zbs-emulator (--host 127.0.0.1 | --hosts 127.11.0.1-255) --port 8080 [--state file.json]';
  const bad = (msg: string): never => {
    process.stderr.write(`zbs-emulator: ${msg}\n${usage}\n`);
    process.exit(2);
  };
  if (arg('--host') !== undefined && arg('--hosts') !== undefined) bad('--host and --hosts exclude each other');
  let hosts = [arg('--host') ?? '127.0.0.1'];
  const list = arg('--hosts');
  if (list !== undefined) {
    try {
      hosts = parseHostList(list);
    } catch (e) {
      bad((e as Error).message);
    }
  }
  const port = Number(arg('--port') ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) bad(`--port must be 0..65535, got ${arg('--port')}`);
  let state: Record<string, unknown> | undefined;
  const file = arg('--state');
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!isPlainObject(parsed)) throw new Error('not a JSON object');
      state = parsed;
    } catch (e) {
      process.stderr.write(`zbs-emulator: cannot use --state ${file}: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  let emus: ZbsEmulator[];
  try {
    emus = await startZbsEmulators(hosts, { port, state });
  } catch (e) {
    const where = hosts.length === 1 ? `${hosts[0]}:${port}` : `${hosts.length} addresses (--hosts ${list}) on port ${port}`;
    process.stderr.write(`zbs-emulator: cannot listen on ${where}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(emus.map((emu) => `listening on ${emu.url}\n`).join(''));
  const stop = () => {
    void Promise.all(emus.map((emu) => emu.close())).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
