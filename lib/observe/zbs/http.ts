// One HTTP request to an SCVM's API, bounded and never throwing: JSON in, JSON out, or the reason there is none.
// node:http, not undici (docs/api.md, "The HTTP client"): undici parses HTTP with WebAssembly, which does not exist
// under V8's --jitless (a host that refuses executable memory, docs/esxi.md), and its parser cost the long-lived runner
// about 10 MB of RSS more (BENCHMARKS.md). Timeouts are our own timers: the connect timeout is a setTimeout on the
// socket, the total one an AbortSignal, both to the millisecond.
// Connections are kept alive for as long as the Http lives (a steady pass sends its heartbeat on the connection that
// fetched the session list; the long-lived runner keeps one Http for the process, link.ts), dropped after a route
// switch (what comes after a switch starts afresh), and destroyed by close(), so nothing keeps the process alive.
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type * as Tls from 'node:tls';

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

type ConnectCallback = (err: Error | null, socket?: Socket) => void;

/**
 * A keep-alive agent whose connections are ours: TLS for an https API (HTTP/1.1 spoken over it), a precise connect
 * timeout, and every socket in `open`, so dropConnections() and close() reach the ones a request still holds.
 */
function poolAgent(opts: HttpOptions, open: Set<Socket>): Agent {
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  // Node's Agent takes a socket from createConnection's return value or, when it returns nothing, from the callback.
  (agent as unknown as { createConnection(o: { host: string; port: number }, cb: ConnectCallback): undefined }).createConnection = (o, cb) => {
    const socket: Socket =
      opts.scheme === 'https'
        ? // loaded only for an https API: a plain-http one-pass `loop` spares about 30 ms and 2.6 MB of RSS (BENCHMARKS.md, "Start-up tricks")
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          (require('node:tls') as typeof Tls).connect({ host: o.host, port: o.port })
        : netConnect({ host: o.host, port: o.port });
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
        cb(err);
      } else cb(null, socket);
    };
    const timer = setTimeout(() => finish(new ConnectTimeout(opts.connectTimeoutMs)), opts.connectTimeoutMs);
    socket.once('error', finish);
    socket.once(opts.scheme === 'https' ? 'secureConnect' : 'connect', () => finish(null));
    return undefined;
  };
  return agent;
}

function describeError(err: unknown, timedOut: boolean, timeoutMs: number, external?: AbortSignal): string {
  if (timedOut) return `no complete answer within ${timeoutMs} ms`;
  if (external?.aborted) return `abandoned (${external.reason instanceof Error ? external.reason.message : String(external.reason)})`;
  if (err instanceof ConnectTimeout || err instanceof BodyTooLarge) return err.message;
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return 'connection reset';
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') return `unreachable (${e.code})`;
  return `${e.code ?? 'error'}: ${(e.message ?? String(err)).slice(0, 120)}`;
}

/** The answer's head, or the error that came first (the abort of `signal` included). */
function send(agent: Agent, opts: HttpOptions, req: HttpRequest, signal: AbortSignal): Promise<IncomingMessage> {
  const body = req.json === undefined ? undefined : JSON.stringify(req.json);
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        agent,
        host: req.ip,
        port: opts.port,
        method: req.method,
        path: req.path,
        signal,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...req.headers,
        },
      },
      resolve,
    );
    r.once('error', reject);
    r.end(body);
  });
}

async function readCapped(res: IncomingMessage, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > cap) {
      res.destroy();
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
    return { agent: poolAgent(opts, sockets), sockets };
  };
  let pool: ReturnType<typeof newPool> | null = null;
  let closed = false;
  // destroy, not end: a request still running (a losing racer) must not hold the pass open. Nothing waits for the
  // 'close' events.
  const destroy = (p: ReturnType<typeof newPool>) => {
    for (const socket of p.sockets) socket.destroy();
    p.sockets.clear();
    p.agent.destroy();
  };

  async function request(req: HttpRequest): Promise<HttpResult> {
    const where = `${req.method} ${opts.scheme}://${req.ip}:${opts.port}${req.path}`;
    if (closed) return { ok: false, reason: `${where}: client already closed` };
    const timeout = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    try {
      const res = await send((pool ??= newPool()).agent, opts, req, signal);
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
        res.destroy();
        return { ok: false, reason: `${where}: answer of ${declared} bytes is larger than api.maxBodyBytes (${opts.maxBodyBytes})` };
      }
      const raw = await readCapped(res, opts.maxBodyBytes);
      if (status < 200 || status > 299) return { ok: true, status, body: undefined };
      const text = raw.toString('utf8').trim();
      if (text === '') return { ok: true, status, body: null };
      try {
        return { ok: true, status, body: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, reason: `${where}: HTTP ${status} answer is not JSON (${raw.length} bytes)` };
      }
    } catch (err) {
      return { ok: false, reason: `${where}: ${describeError(err, timeout.aborted, req.timeoutMs, req.signal)}` };
    }
  }

  return {
    request,
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
