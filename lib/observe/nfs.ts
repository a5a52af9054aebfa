// The NFS data path (issue 15 case 5): ICMP and the session list can both be fine while an SCVM's NFS service is dead.
// A TCP connect to the NFS VIP is routed by the kernel exactly as the VMs' NFS traffic is, via the route's current next
// hop, so an answer means the current target accepts NFS connections. Nothing is sent over the connection.
import { connect } from 'node:net';
import type { NfsCheck } from '../types';

export interface NfsCheckOptions {
  vip: string;
  port: number;
  timeoutMs: number;
}

/** Errors that say the check cannot be made from this host (no route, a local firewall, no permission, no sockets). */
const CANNOT_RUN = new Set(['EACCES', 'EPERM', 'ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'EMFILE', 'ENFILE', 'ENOBUFS']);

/** The check is off: say so without touching the network. */
export const NFS_CHECK_OFF: NfsCheck = { result: 'unknown', why: 'the NFS data-path check is off (nfsCheck.enabled)', skipped: true };

/** A connect error as a check: the path answered "no" (failed), or the check could not be made (unknown). */
export function nfsCheckFromError(e: NodeJS.ErrnoException, o: NfsCheckOptions): NfsCheck {
  const code = e.code ?? 'no error code';
  if (code === 'ECONNREFUSED') return { result: 'failed', why: `${o.vip}:${o.port} refused the connection (nothing accepts NFS there)` };
  if (code === 'ECONNRESET' || code === 'ETIMEDOUT') return { result: 'failed', why: `${o.vip}:${o.port}: ${code}` };
  if (CANNOT_RUN.has(code)) return { result: 'unknown', why: `cannot connect to ${o.vip}:${o.port} from this host (${code})` };
  return { result: 'unknown', why: `connect to ${o.vip}:${o.port} failed (${code}: ${e.message})` };
}

/** One check; never throws, never takes longer than its timeout (and one turn of the event loop). */
export function checkNfs(o: NfsCheckOptions): Promise<NfsCheck> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: o.vip, port: o.port });
    let done = false;
    const finish = (r: NfsCheck) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    // On a busy event loop the timer and a connect that did complete can be due together; timers run first, so the
    // verdict waits for setImmediate, which comes after the poll phase that delivers the connect.
    const timer = setTimeout(
      () => setImmediate(() => finish({ result: 'failed', why: `no answer from ${o.vip}:${o.port} within ${o.timeoutMs} ms` })),
      o.timeoutMs,
    );
    socket.once('connect', () => finish({ result: 'ok', ms: Math.round(performance.now() - started) }));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(nfsCheckFromError(e, o)));
  });
}
