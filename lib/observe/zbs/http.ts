// One HTTP request to an SCVM's API, bounded and never throwing: JSON in, JSON out, or the reason there is none.
// Timeouts are our own timers: undici's connect/headers timeouts fire up to 500 ms late, AbortSignal.timeout does not.
// Connections are kept alive for as long as the Http lives (a steady pass sends its heartbeat on the connection that
// fetched the session list; the long-lived runner keeps one Http for the process, link.ts), dropped after a route
// switch (what comes after a switch starts afresh), and destroyed by close(), so nothing keeps the process alive.
import { connect as netConnect, type Socket } from 'node:net';
import type * as Tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { createAgent, request } from './undici-lite';

export interface HttpOptions {
  scheme: 'http' | 'https';
  port: number;
  /** TCP (and TLS) handshake must finish within this, ms */
  connectTimeoutMs: number;
  /** answers larger than this are refused, bytes */
  maxBodyBytes: number;
}

export interface HttpRequest {
  /** dotted quad of the SCVM; the caller has validated it */
  ip: string;
  method: 'GET' | 'POST' | 'PUT';
  /** absolute path, already validated and escaped by the caller */
  path: string;
  headers?: Record<string, string>;
  /** sent as JSON when given */
  json?: unknown;
  /** total time for this request, ms (connect + send + whole answer) */
  timeoutMs: number;
  /** aborts the request early (a racing SCVM won, or the API budget is spent) */
  signal?: AbortSignal;
}

/** A 2xx answer carries its parsed JSON body (null when empty); other statuses carry none. */
export type HttpResult = { ok: true; status: number; body: unknown } | { ok: false; reason: string };

export interface Http {
  request(req: HttpRequest): Promise<HttpResult>;
  /** Drop every pooled connection (requests still running are cut); later requests open new ones. */
  dropConnections(): void;
  /** Close every connection; the Http is unusable afterwards. */
  close(): Promise<void>;
}

class ConnectTimeout extends Error {
  constructor(ms: number) {
    super(`no TCP connection within ${ms} ms`);
  }
}

class BodyTooLarge extends Error {}

/** A connector with a precise connect timeout (a real setTimeout, not undici's coarse timers); `open` holds its sockets. */
function connector(opts: HttpOptions, open: Set<Socket>) {
  return (o: { hostname: string; port: string; protocol: string }, cb: (...a: [null, Socket] | [Error, null]) => void) => {
    const port = Number(o.port) || opts.port;
    const socket: Socket =
      o.protocol === 'https:'
        ? // loaded only for an https API: node:tls brings OpenSSL's pages in, about 3 MB of RSS a plain-http pass spares
          (require('node:tls') as typeof Tls).connect({ host: o.hostname, port })
        : netConnect({ host: o.hostname, port });
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('error', finish);
      if (err) {
        socket.destroy();
        cb(err, null);
      } else cb(null, socket);
    };
    const timer = setTimeout(() => finish(new ConnectTimeout(opts.connectTimeoutMs)), opts.connectTimeoutMs);
    socket.once('error', finish);
    socket.once(o.protocol === 'https:' ? 'secureConnect' : 'connect', () => finish(null));
  };
}

function describeError(err: unknown, timedOut: boolean, timeoutMs: number, external?: AbortSignal): string {
  if (timedOut) return `no complete answer within ${timeoutMs} ms`;
  if (external?.aborted) return `abandoned (${external.reason instanceof Error ? external.reason.message : String(external.reason)})`;
  if (err instanceof ConnectTimeout || err instanceof BodyTooLarge) return err.message;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `unreachable (${code})`;
  return `${code ?? 'error'}: ${(e.message ?? String(err)).slice(0, 120)}`;
}

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > cap) {
      body.on('error', () => undefined).destroy();
      throw new BodyTooLarge(`answer larger than api.maxBodyBytes (${cap} bytes)`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** An HTTP helper for a pass or a process (link.ts); close() it at the end. */
export function createHttp(opts: HttpOptions): Http {
  const newPool = () => {
    const sockets = new Set<Socket>();
    return { agent: createAgent({ connect: connector(opts, sockets), pipelining: 1 }), sockets };
  };
  // made at the first request (undici is loaded then: undici-lite.ts)
  let pool: ReturnType<typeof newPool> | null = null;
  let closed = false;
  // destroy, not close: a request still running (a losing racer) must not hold the pass open. The sockets go first,
  // without an error: undici destroys them with one, and node:stream then formats its stack trace (a millisecond of
  // source positions in the bundle at the end of every pass). Nothing waits for the 'close' events.
  const destroy = (p: ReturnType<typeof newPool>) => {
    for (const socket of p.sockets) socket.destroy();
    p.sockets.clear();
    void p.agent.destroy().catch(() => undefined);
  };

  async function send(req: HttpRequest): Promise<HttpResult> {
    const where = `${req.method} ${opts.scheme}://${req.ip}:${opts.port}${req.path}`;
    if (closed) return { ok: false, reason: `${where}: client already closed` };
    const timeout = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    try {
      const res = await request((pool ??= newPool()).agent, {
        origin: `${opts.scheme}://${req.ip}:${opts.port}`,
        path: req.path,
        method: req.method,
        signal,
        headers: {
          accept: 'application/json',
          ...(req.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...req.headers,
        },
        body: req.json === undefined ? undefined : JSON.stringify(req.json),
      });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
        res.body.on('error', () => undefined).destroy();
        return { ok: false, reason: `${where}: answer of ${declared} bytes is larger than api.maxBodyBytes (${opts.maxBodyBytes})` };
      }
      const raw = await readCapped(res.body, opts.maxBodyBytes);
      if (res.statusCode < 200 || res.statusCode > 299) return { ok: true, status: res.statusCode, body: undefined };
      const text = raw.toString('utf8').trim();
      if (text === '') return { ok: true, status: res.statusCode, body: null };
      try {
        return { ok: true, status: res.statusCode, body: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, reason: `${where}: HTTP ${res.statusCode} answer is not JSON (${raw.length} bytes)` };
      }
    } catch (err) {
      return { ok: false, reason: `${where}: ${describeError(err, timeout.aborted, req.timeoutMs, req.signal)}` };
    }
  }

  return {
    request: send,
    dropConnections() {
      if (closed || pool === null) return;
      destroy(pool);
      pool = null;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (pool !== null) destroy(pool);
    },
  };
}
