// The raw ICMP socket the sweep and the monitor share: loading raw-socket (from the bundle inside the single
// executable), opening the socket with a receive buffer and a kernel filter, errno names for send errors.
import type ModuleType from 'node:module';
import { join } from 'node:path';
import { PermissionError, UsageError } from '../../errors';
import type { Log } from '../../runtime/log';
import { isSingleExecutable } from '../../runtime/self-command';

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33; // Linux: root may pass net.core.rmem_max
const SOL_RAW = 255;
const ICMP_FILTER = 1; // Linux: bit n set = drop ICMP type n before it reaches the socket

// The part of raw-socket 1.8 this module uses (the package ships no types).
export interface RawSocket {
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    before: () => void,
    after: (error: Error | null, bytes: number) => void,
  ): void;
  setOption(level: number, option: number, value: number): void;
  on(event: 'message', fn: (buffer: Buffer, source: string) => void): void;
  on(event: 'error', fn: (error: Error) => void): void;
  on(event: 'close', fn: () => void): void;
  close(): void;
  /** raw-socket's native handle: a synchronous sendto on the non-blocking socket, throwing on error */
  wrap?: { send(buffer: Buffer, offset: number, length: number, address: string, done: () => void): void };
}
interface RawSocketModule {
  createSocket(options: { protocol: number; bufferSize?: number }): RawSocket;
  Protocol: { ICMP: number };
}

const SEND_ERRORS: Record<string, string> = {
  'network is unreachable': 'ENETUNREACH',
  'no route to host': 'EHOSTUNREACH',
  'operation not permitted': 'EPERM',
  'permission denied': 'EACCES',
  'invalid argument': 'EINVAL',
  'message too long': 'EMSGSIZE',
  'no buffer space available': 'ENOBUFS',
  'resource temporarily unavailable': 'EAGAIN',
};

/** raw-socket reports strerror text only; give callers the errno name they can branch on. */
export function errnoName(error: Error): string {
  const text = error.message.trim().toLowerCase();
  return SEND_ERRORS[text] ?? error.message.trim();
}

/**
 * Whether a send failed only because the socket's send buffer is full (EAGAIN, ENOBUFS): the target is not to blame,
 * and the echo is sent again (the sweep through raw-socket's queue, the monitor at its next send). Any other error is
 * the target's own (no route, an unreachable one): certain, as an unconnected raw socket queues no errors.
 */
export function sendBufferFull(error: Error): boolean {
  const code = errnoName(error);
  return code === 'EAGAIN' || code === 'ENOBUFS';
}

function loadRawSocket(): RawSocketModule {
  // Loaded on first probe only: the CLI's other commands must start without the native addon.
  // Inside a single executable require() knows only built-ins: the addon is loaded from the bundle's directory
  // (scripts/build-bundle), which its launcher names in REROUTE_BUNDLE. process.execPath cannot tell: the executable
  // is started through the bundled dynamic loader, so execPath is the loader.
  if (isSingleExecutable()) {
    const bundle = process.env.REROUTE_BUNDLE;
    if (!bundle) throw new UsageError('REROUTE_BUNDLE is not set: start the single executable through its launcher, the bundle\'s bin/reroute');
    /* eslint-disable-next-line @typescript-eslint/no-require-imports */
    const { createRequire } = require('node:module') as typeof ModuleType;
    return createRequire(process.execPath)(join(bundle, 'node_modules', 'raw-socket')) as RawSocketModule;
  }
  // A plain require the bundler can see: raw-socket's JS goes into the bundle, its addon stays in node_modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('raw-socket') as RawSocketModule;
}

export function openSocket(targetCount: number, log: Log): RawSocket {
  const raw = loadRawSocket();
  let socket: RawSocket;
  try {
    socket = raw.createSocket({ protocol: raw.Protocol.ICMP });
  } catch (e) {
    const message = (e as Error).message;
    if (/not permitted|permission denied/i.test(message)) {
      throw new PermissionError(
        `cannot open a raw ICMP socket (${message}): run as root or grant CAP_NET_RAW`,
        { cause: message },
      );
    }
    throw e;
  }
  // Replies of a big sweep arrive while we are still sending; the default receive buffer (~200 KiB) would drop some.
  const rcvbuf = Math.min(8 << 20, Math.max(256 << 10, targetCount * 4096));
  try {
    socket.setOption(SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf);
  } catch {
    try {
      socket.setOption(SOL_SOCKET, SO_RCVBUF, rcvbuf);
    } catch (e) {
      log.debug('icmp: could not enlarge the receive buffer', { error: (e as Error).message });
    }
  }
  // Only echo replies need to reach us: skip our own requests on loopback and all other ICMP traffic of the host.
  try {
    socket.setOption(SOL_RAW, ICMP_FILTER, ~1 >>> 0);
  } catch (e) {
    log.debug('icmp: ICMP_FILTER unavailable, filtering in user space only', { error: (e as Error).message });
  }
  return socket;
}

