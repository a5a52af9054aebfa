// The ICMP sweep: one raw socket, every target in flight at once, each judged on several echoes (DESIGN §4).
// A target that cannot be reached is a result, never an exception; the only throw is a missing raw-socket privilege.
import { performance } from 'node:perf_hooks';
import type { Config } from '../../config/schema';
import { PermissionError, UsageError } from '../../errors';
import { isIPv4 } from '../../net/ipv4';
import type { Log } from '../../runtime/log';
import type { ProbeResult } from '../../types';
import { buildEchoRequest, classifyDatagram, echoPayload, type IgnoreReason, type SentEcho } from './packet';
import { failedResult, probeResult } from './result';
import { errnoName, openSocket, sendBufferFull, type RawSocket } from './socket';

/** What a sweep needs of the probe settings (the monitor's are its own). */
export type ProbeSettings = Pick<
  Config['probe'],
  'count' | 'intervalMs' | 'waitMs' | 'timeoutMs' | 'minReplies' | 'payloadBytes' | 'mtu' | 'paceMs'
>;

/** Sends per burst before pausing settings.paceMs, so a 500-target sweep is not one burst on the wire. */
const BURST = 64;
// Fate of one echo.
const OPEN = 0;
const ANSWERED = 1;
const LOST = 2;

interface TargetState {
  ip: string;
  sentAt: Float64Array; // NaN = not sent
  fate: Uint8Array; // FATE_*
  sent: number;
  received: number;
  lost: number;
  /** round trips of the echoes answered, ms */
  rttMin: number;
  rttMax: number;
  rttSum: number;
  settled: boolean;
  reachable: boolean;
  error?: string;
}

interface Outstanding {
  target: TargetState;
  sequence: number;
  expiresAt: number;
}

function newTarget(ip: string, count: number): TargetState {
  return {
    ip,
    sentAt: new Float64Array(count).fill(Number.NaN),
    fate: new Uint8Array(count),
    sent: 0,
    received: 0,
    lost: 0,
    rttMin: Number.POSITIVE_INFINITY,
    rttMax: 0,
    rttSum: 0,
    settled: false,
    reachable: false,
  };
}

const noop = () => undefined;

/**
 * Probe every target with settings.count ICMP echoes over one raw socket and judge each: reachable once
 * settings.minReplies echoes came back within settings.waitMs. The sweep ends when every verdict is certain or at
 * settings.timeoutMs. Throws only PermissionError (no raw-socket privilege) and UsageError (a single executable started
 * without its launcher), synchronously, before any echo is sent; everything else is in the results.
 */
export function probe(targets: string[], settings: ProbeSettings, log: Log): Promise<Record<string, ProbeResult>> {
  const results: Record<string, ProbeResult> = {};
  const states = new Map<string, TargetState>();
  for (const ip of targets) {
    if (states.has(ip) || ip in results) continue;
    if (isIPv4(ip)) states.set(ip, newTarget(ip, settings.count));
    else results[ip] = failedResult(ip, 'not a dotted-quad IPv4 address');
  }
  const settled = async (done: Promise<void>) => {
    await done;
    for (const t of states.values()) results[t.ip] = probeResult(t.ip, t, t.reachable, t.error);
    return results;
  };
  if (states.size === 0) return settled(Promise.resolve());

  let socket: RawSocket;
  try {
    socket = openSocket(states.size, log);
  } catch (e) {
    // a setup error, not an observation: a sweep of all-unreachable would reach the decision
    if (e instanceof PermissionError || e instanceof UsageError) throw e;
    const why = `raw socket unavailable: ${(e as Error).message}`;
    log.error(`icmp: ${why}`);
    for (const ip of states.keys()) results[ip] = failedResult(ip, why);
    states.clear();
    return settled(Promise.resolve());
  }
  return settled(new Sweep(socket, [...states.values()], settings, log).done);
}

/** One run of the prober: its socket, timers and per-target bookkeeping. */
class Sweep {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  // Only tells our echoes from other pingers' on the host, no secret: Math.random spares loading node:crypto (BENCHMARKS.md, "Start-up tricks").
  private readonly identifier = 1 + Math.floor(Math.random() * 0xffff);
  private readonly payload: Buffer;
  private readonly packets: Buffer[] = [];
  private readonly byIp: Map<string, TargetState>;
  private readonly t0 = performance.now();
  private readonly deadline: number;
  /** rounds that can start before the deadline: echoes beyond them cannot count */
  private readonly plannedRounds: number;
  private unsettled: number;
  private readonly outstanding: Outstanding[] = [];
  private outstandingHead = 0;
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private finished = false;
  private readonly ignored: Partial<Record<IgnoreReason, number>> = {};

  constructor(
    private readonly socket: RawSocket,
    private readonly targets: TargetState[],
    private readonly settings: ProbeSettings,
    private readonly log: Log,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.payload = echoPayload(settings.payloadBytes);
    this.byIp = new Map(targets.map((t) => [t.ip, t]));
    this.unsettled = targets.length;
    this.deadline = this.t0 + settings.timeoutMs;
    this.plannedRounds = Math.min(settings.count, Math.ceil(settings.timeoutMs / settings.intervalMs));
    socket.on('message', (buffer) => this.onMessage(buffer));
    // raw-socket emits 'error' for a failed recv (e.g. a pending ICMP error on the socket); one bad read is not fatal.
    socket.on('error', (error) => {
      this.log.debug('icmp: socket error', { error: error.message });
    });
    socket.on('close', () => this.finish('socket closed'));
    this.later(() => this.finish('timeout'), settings.timeoutMs);
    this.sendRound(0, 0);
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
  }

  /** One packet per sequence for every target: 17 ms less CPU for a 506-target sweep (BENCHMARKS.md, "Start-up tricks"). */
  private packet(sequence: number): Buffer {
    return (this.packets[sequence] ??= buildEchoRequest(this.identifier, sequence, this.payload));
  }

  /** Send echo `round` to every unsettled target from index `from`, BURST at a time with a pause between bursts. */
  private sendRound(round: number, from: number): void {
    if (this.finished) return;
    let i = from;
    let burst = 0;
    for (; i < this.targets.length && burst < BURST; i++) {
      const t = this.targets[i]!;
      if (t.settled) continue;
      this.sendEcho(t, round);
      burst++;
    }
    if (i < this.targets.length) {
      this.later(() => this.sendRound(round, i), this.settings.paceMs);
      return;
    }
    const next = round + 1;
    if (next >= this.plannedRounds) return;
    const at = this.t0 + next * this.settings.intervalMs;
    if (at >= this.deadline) return;
    this.later(() => this.sendRound(next, 0), at - performance.now());
  }

  private sendEcho(t: TargetState, sequence: number): void {
    const packet = this.packet(sequence);
    const wrap = this.socket.wrap;
    if (wrap && typeof wrap.send === 'function') {
      // Direct sendto: raw-socket's queue sends one packet per event-loop turn, which costs a 506-target sweep
      // tens of ms of CPU. The socket is non-blocking; a full buffer falls back to the queue below.
      let error: Error | null = null;
      t.sentAt[sequence] = performance.now();
      try {
        wrap.send(packet, 0, packet.length, t.ip, noop);
      } catch (e) {
        error = e as Error;
      }
      if (!error) {
        t.sent++;
        this.onSent(t, sequence);
        return;
      }
      if (!sendBufferFull(error)) {
        this.onSendError(t, sequence, error);
        return;
      }
    }
    this.socket.send(
      packet,
      0,
      packet.length,
      t.ip,
      () => {
        t.sentAt[sequence] = performance.now();
      },
      (error) => {
        if (error) {
          if (!this.finished && !t.settled) this.onSendError(t, sequence, error);
          return;
        }
        t.sent++;
        if (!this.finished && !t.settled) this.onSent(t, sequence);
      },
    );
  }

  private onSent(t: TargetState, sequence: number): void {
    const expiresAt = t.sentAt[sequence]! + this.settings.waitMs;
    this.outstanding.push({ target: t, sequence, expiresAt });
    if (!this.expiryTimer) this.armExpiry();
  }

  private onSendError(t: TargetState, sequence: number, error: Error): void {
    t.sentAt[sequence] = Number.NaN;
    const code = errnoName(error);
    // An unconnected raw socket does not queue ICMP errors of earlier echoes (checked on Linux 6.18: no sk_err after
    // "host unreachable"), so a failed sendto is this target's own: no route, or an unreachable route.
    this.log.debug('icmp: send failed', { ip: t.ip, error: code });
    t.error = code;
    this.settle(t, false);
  }

  private armExpiry(): void {
    const head = this.outstanding[this.outstandingHead];
    if (!head) {
      this.expiryTimer = null;
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.expire();
    }, Math.max(0, head.expiresAt - performance.now()));
    this.timers.add(timer);
    this.expiryTimer = timer;
  }

  /** Echoes whose wait has passed without a reply are lost; sends are FIFO so the queue is in expiry order. */
  private expire(): void {
    const now = performance.now();
    while (this.outstandingHead < this.outstanding.length) {
      const o = this.outstanding[this.outstandingHead]!;
      if (o.expiresAt > now) break;
      this.outstandingHead++;
      const t = o.target;
      if (t.settled || t.fate[o.sequence] !== OPEN) continue;
      t.fate[o.sequence] = LOST;
      t.lost++;
      if (this.plannedRounds - t.lost < this.settings.minReplies) this.settle(t, false);
    }
    if (this.outstandingHead > 4096 && this.outstandingHead * 2 > this.outstanding.length) {
      this.outstanding.splice(0, this.outstandingHead);
      this.outstandingHead = 0;
    }
    if (!this.finished) this.armExpiry();
  }

  private readonly lookup = (source: string, sequence: number): SentEcho | undefined => {
    const t = this.byIp.get(source);
    if (!t || t.settled || sequence >= t.sentAt.length) return undefined;
    const sentAt = t.sentAt[sequence]!;
    if (Number.isNaN(sentAt)) return undefined;
    return { sentAt, answered: t.fate[sequence] === ANSWERED };
  };

  private onMessage(buffer: Buffer): void {
    if (this.finished) return;
    const c = classifyDatagram(buffer, {
      identifier: this.identifier,
      payload: this.payload,
      waitMs: this.settings.waitMs,
      now: performance.now(),
      lookup: this.lookup,
    });
    if (c.kind === 'ignored') {
      this.ignored[c.reason] = (this.ignored[c.reason] ?? 0) + 1;
      return;
    }
    const t = this.byIp.get(c.source)!;
    t.fate[c.sequence] = ANSWERED;
    t.received++;
    t.rttSum += c.rttMs;
    if (c.rttMs < t.rttMin) t.rttMin = c.rttMs;
    if (c.rttMs > t.rttMax) t.rttMax = c.rttMs;
    if (t.received >= this.settings.minReplies) this.settle(t, true);
  }

  private settle(t: TargetState, reachable: boolean): void {
    if (t.settled) return;
    t.settled = true;
    t.reachable = reachable;
    if (--this.unsettled === 0) this.finish('all settled');
  }

  private finish(why: string): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const t of this.targets) {
      if (t.settled) continue;
      if (why === 'socket closed') t.error = 'raw socket closed during the sweep';
      t.settled = true;
      t.reachable = t.received >= this.settings.minReplies;
    }
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    this.log.debug('icmp: sweep done', {
      why,
      targets: this.targets.length,
      reachable: this.targets.filter((t) => t.reachable).length,
      ms: Math.round(performance.now() - this.t0),
      ignored: this.ignored,
    });
    this.resolveDone();
  }
}
