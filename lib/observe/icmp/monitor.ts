// The ICMP monitor of the long-lived runner: echoes flow all the time over one raw socket, every `intervalMs` to the
// targets that matter now (the local SCVM, the current target, the pin, the SCVMs the engine would take next) and
// every `slowIntervalMs` to the rest; a pass reads the verdicts as they stand instead of waiting for a sweep.
// It wakes only when something is due: the sends, all on one grid of `intervalMs` (so a wake sends to every target
// due), an echo's wait running out, a silence reaching `silenceMs`. Steady, that is one wake per `intervalMs`: on a
// host every wake costs CPU of its own, whatever it does (BENCHMARKS.md, footprint).
//
// The verdict rule (docs/probe.md):
// - how long an echo may stay unanswered adapts to the round trips seen, as TCP's retransmission timeout does
//   (RFC 6298: smoothed RTT plus four times its variation, between probe.rtoMinMs and probe.rtoMaxMs); a reply that
//   comes later still counts as a round trip, so on a slow nested cluster the wait grows by itself;
// - DOWN when `downAfter` echoes in a row went unanswered past their wait AND nothing at all has come back for
//   `silenceMs`: the floor is the longest stall to forgive, so one late burst is never "down" (the seed's lesson: a
//   twitchy ping made routes flap); a send the kernel refuses (no route) is down at once;
// - UP when `upAfter` echoes in a row were answered (the first verdict of a target: its first answer).
import { performance } from 'node:perf_hooks';
import type { Config } from '../../config/schema';
import { isIPv4 } from '../../net/ipv4';
import { monotonicMs } from '../../runtime/host';
import type { Log } from '../../runtime/log';
import type { ProbeResult } from '../../types';
import { buildEchoRequest, classifyDatagram, echoPayload, type SentEcho } from './packet';
import { probeResult } from './result';
import { errnoName, openSocket, sendBufferFull, type RawSocket } from './socket';

export type Verdict = 'up' | 'down' | 'unknown';
export type MonitorSettings = Config['probe'];

/** What the monitor knows of a target, handed from one process to the next (the runner's RAM file). */
export interface TargetMemory {
  srtt: number | null;
  rttvar: number | null;
  verdict: Verdict;
  /** when it was last heard, on the host's monotonic clock (ms): the next process counts the silence on from there */
  heardAt?: number;
  /** echoes in a row past their wait when handed over */
  lostInRow?: number;
  /** when this was handed over, on the host's monotonic clock (ms): a "down" is believed only while it is fresh */
  at?: number;
}
export type MonitorSnapshot = Record<string, TargetMemory>;

/** Echoes kept per target for the loss and round-trip figures a pass reports. */
const WINDOW = 20;
/** Timer granularity added to the wait (RFC 6298's G). */
const GRANULARITY_MS = 10;
/** A silence handed over is believed this long; an older one (a process that died a while ago) starts afresh. */
const HANDED_SILENCE_MAX_MS = 60_000;

interface Echo {
  seq: number;
  sentAt: number;
  /** round trip when answered; -1 while open; -2 when past its wait (it may still be answered later) */
  rtt: number;
}

class Target {
  readonly echoes: Echo[] = [];
  srtt: number | null;
  rttvar: number | null;
  verdict: Verdict;
  fast = false;
  nextSendAt = 0;
  /** echoes in a row past their wait, answered in a row */
  lostInRow = 0;
  answeredInRow = 0;
  /** when something last came back (or, before that, when watching began): silence is measured from here */
  lastHeardAt: number;
  error: string | undefined;

  constructor(
    readonly ip: string,
    memory: TargetMemory | undefined,
    now: number,
    silenceMs: number,
  ) {
    this.srtt = memory?.srtt ?? null;
    this.rttvar = memory?.rttvar ?? null;
    this.verdict = memory?.verdict ?? 'unknown';
    // A "down" handed over longer ago than the silence window says nothing of now (issue 27: a runner started 15 s
    // after SCVM-1 revived read "down", recorded a relapse and doubled the stable period): judged afresh. A silence
    // still running is handed over below, so a target really down is judged down again at the monitor's first look.
    const handedAgo = memory?.at === undefined ? NaN : monotonicMs() - memory.at;
    if (this.verdict === 'down' && !(handedAgo >= 0 && handedAgo <= silenceMs)) this.verdict = 'unknown';
    this.lastHeardAt = now;
    // The minute's hand-over must not restart the count of a silence that began under the last process.
    const ago = memory?.heardAt === undefined ? NaN : monotonicMs() - memory.heardAt;
    if (ago >= 0 && ago <= HANDED_SILENCE_MAX_MS) {
      this.lastHeardAt = now - ago;
      this.lostInRow = memory?.lostInRow ?? 0;
    }
  }

  rto(s: MonitorSettings): number {
    if (this.srtt === null || this.rttvar === null) return s.rtoMaxMs; // nothing measured yet: wait the longest
    return Math.min(s.rtoMaxMs, Math.max(s.rtoMinMs, this.srtt + Math.max(GRANULARITY_MS, 4 * this.rttvar)));
  }

  /** RFC 6298 section 2 */
  sample(rtt: number): void {
    if (this.srtt === null || this.rttvar === null) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
  }
}

/** The monitor of one process. Construct it once; call watch() every pass; read results(); close() at the end. */
export class ProbeMonitor {
  private readonly socket: RawSocket;
  private readonly targets = new Map<string, Target>();
  private readonly identifier = 1 + Math.floor(Math.random() * 0xffff);
  private readonly payload: Buffer;
  private seq = 0;
  /** the sends' grid: every send falls on origin + k * intervalMs */
  private readonly origin = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;
  private readonly listeners: Array<(ip: string, verdict: Verdict) => void> = [];
  private closed = false;

  /** Opens the raw socket: throws PermissionError without the privilege. */
  constructor(
    private readonly settings: MonitorSettings,
    private readonly log: Log,
    private readonly memory: MonitorSnapshot = {},
  ) {
    this.payload = echoPayload(settings.payloadBytes);
    this.socket = openSocket(64, log);
    if (typeof this.socket.wrap?.send !== 'function') throw new Error('raw-socket has no direct send (raw-socket 1.8 needed)');
    this.socket.on('message', (buffer) => this.onMessage(buffer));
    this.socket.on('error', (error) => log.debug('icmp monitor: socket error', { error: error.message }));
  }

  /** Watch `all` (each every slowIntervalMs), of which `fast` every intervalMs. Targets not named stop being watched. */
  watch(fast: readonly string[], all: readonly string[]): void {
    const now = performance.now();
    const wanted = new Set([...fast, ...all].filter((ip) => isIPv4(ip)));
    for (const ip of this.targets.keys()) if (!wanted.has(ip)) this.targets.delete(ip);
    for (const ip of wanted) {
      let t = this.targets.get(ip);
      if (!t) this.targets.set(ip, (t = new Target(ip, this.memory[ip], now, this.settings.silenceMs)));
      const wasFast = t.fast;
      t.fast = fast.includes(ip);
      if (t.fast && !wasFast) t.nextSendAt = now; // promoted: at once
    }
    this.schedule(now);
  }

  /** Called when a target's verdict changes. */
  onChange(fn: (ip: string, verdict: Verdict) => void): void {
    this.listeners.push(fn);
  }

  /** The verdicts as they stand, as the engine reads probes: a target still unknown is left out (never "down"). */
  results(): Record<string, ProbeResult> {
    const out: Record<string, ProbeResult> = {};
    for (const t of this.targets.values()) {
      if (t.verdict === 'unknown') continue;
      // the echoes judged (answered, or past their wait) of the window
      const tally = { sent: 0, received: 0, rttMin: Number.POSITIVE_INFINITY, rttMax: 0, rttSum: 0 };
      for (const e of t.echoes) {
        if (e.rtt === -1) continue;
        tally.sent++;
        if (e.rtt < 0) continue;
        tally.received++;
        tally.rttSum += e.rtt;
        tally.rttMin = Math.min(tally.rttMin, e.rtt);
        tally.rttMax = Math.max(tally.rttMax, e.rtt);
      }
      out[t.ip] = probeResult(t.ip, tally, t.verdict === 'up', t.error);
    }
    return out;
  }

  /** What to hand to the next process: round-trip estimates and verdicts. */
  snapshot(): MonitorSnapshot {
    const out: MonitorSnapshot = {};
    const now = performance.now();
    const mono = monotonicMs();
    for (const t of this.targets.values()) {
      const heardAt = Math.round(mono - (now - t.lastHeardAt));
      out[t.ip] = { srtt: t.srtt, rttvar: t.rttvar, verdict: t.verdict, heardAt, lostInRow: t.lostInRow, at: Math.round(mono) };
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.socket.close();
    } catch {
      // closed already
    }
  }

  private tick(): void {
    this.timer = null;
    this.dueAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const s = this.settings;
    for (const t of this.targets.values()) {
      this.expire(t, now);
      this.judge(t, now);
      // a timer may fire a fraction of a millisecond early: a send due within the granularity goes now
      if (t.nextSendAt <= now + 1) {
        this.send(t, now);
        t.nextSendAt = this.gridAfter(now + 1 + (t.fast ? 0 : s.slowIntervalMs - s.intervalMs));
      }
    }
    this.schedule(now);
  }

  /** The first point of the sends' grid after `at`. */
  private gridAfter(at: number): number {
    const step = this.settings.intervalMs;
    return this.origin + (Math.floor((at - this.origin) / step) + 1) * step;
  }

  /**
   * When the monitor must look next for this target: its next send, and what can turn it down: the first wait to
   * run out until `downAfter` have, then the silence reaching `silenceMs` (a target down already waits for its sends).
   */
  private nextDue(t: Target): number {
    const s = this.settings;
    let due = t.nextSendAt;
    if (t.verdict === 'down') return due;
    if (t.lostInRow >= s.downAfter) return Math.min(due, t.lastHeardAt + s.silenceMs);
    const wait = t.rto(s);
    for (const e of t.echoes) if (e.rtt === -1) due = Math.min(due, e.sentAt + wait + 1);
    return due;
  }

  /** Arm the one timer for what is due first (unchanged: left as it is). */
  private schedule(now: number): void {
    if (this.closed) return;
    let due = Number.POSITIVE_INFINITY;
    for (const t of this.targets.values()) due = Math.min(due, this.nextDue(t));
    if (due === this.dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = due === Number.POSITIVE_INFINITY ? null : setTimeout(() => this.tick(), Math.max(0, due - now));
  }

  /** Echoes unanswered past the target's wait count as lost (a later answer still counts as a round trip). */
  private expire(t: Target, now: number): void {
    const wait = t.rto(this.settings);
    for (const e of t.echoes) {
      if (e.rtt === -1 && now - e.sentAt > wait) {
        e.rtt = -2;
        t.lostInRow++;
        t.answeredInRow = 0;
      }
    }
  }

  private judge(t: Target, now: number): void {
    const s = this.settings;
    let next: Verdict = t.verdict;
    if (t.error !== undefined) next = 'down';
    else if (t.lostInRow >= s.downAfter && now - t.lastHeardAt >= s.silenceMs) next = 'down';
    else if (t.answeredInRow >= (t.verdict === 'unknown' ? 1 : s.upAfter)) next = 'up';
    if (next === t.verdict) return;
    t.verdict = next;
    this.log.debug(`icmp monitor: ${t.ip} is ${next}`, { lostInRow: t.lostInRow, rtoMs: Math.round(t.rto(s)) });
    for (const fn of this.listeners) fn(t.ip, next);
  }

  private send(t: Target, now: number): void {
    if (this.closed) return;
    this.seq = (this.seq + 1) & 0xffff;
    const seq = this.seq;
    const packet = buildEchoRequest(this.identifier, seq, this.payload);
    try {
      this.socket.wrap!.send(packet, 0, packet.length, t.ip, () => undefined);
    } catch (e) {
      if (sendBufferFull(e as Error)) return; // try again at its next send
      const code = errnoName(e as Error);
      // no route, or an unreachable one: certain, and this target's own (an unconnected raw socket queues no errors)
      if (t.error !== code) this.log.debug(`icmp monitor: send to ${t.ip} failed`, { error: code });
      t.error = code;
      this.judge(t, now);
      return;
    }
    t.error = undefined;
    t.echoes.push({ seq, sentAt: now, rtt: -1 });
    if (t.echoes.length > WINDOW) t.echoes.shift();
  }

  private readonly lookup = (source: string, sequence: number): SentEcho | undefined => {
    const e = this.targets.get(source)?.echoes.find((x) => x.seq === sequence);
    return e ? { sentAt: e.sentAt, answered: e.rtt >= 0 } : undefined;
  };

  private onMessage(buffer: Buffer): void {
    const now = performance.now();
    const c = classifyDatagram(buffer, {
      identifier: this.identifier,
      payload: this.payload,
      waitMs: Number.POSITIVE_INFINITY, // late answers are round trips too: the wait adapts to them
      now,
      lookup: this.lookup,
    });
    if (c.kind === 'ignored') return;
    const t = this.targets.get(c.source)!;
    const e = t.echoes.find((x) => x.seq === c.sequence)!;
    const wasLost = e.rtt === -2;
    e.rtt = c.rttMs;
    t.sample(c.rttMs);
    t.lastHeardAt = now;
    t.lostInRow = 0; // it answers, if late: not dead
    if (!wasLost) t.answeredInRow++;
    this.judge(t, now);
    this.schedule(now);
  }
}
