// scripts/bench-fleet: one virtual host of the fleet. It runs the real pass (lib/pass/pass.ts: lock, state files,
// observe, decide, act, save) every cadence at an offset of its own, as the long-lived runner does
// (lib/pass/runner.ts), with its own config file (production defaults but for paths, addresses and the API's port),
// its own ZBS link for the whole run and its own route. Only what cannot be 255 times in one process is replaced:
// the route is held in memory (no `ip` process a pass), every SCVM answers ICMP (the monitor is not what is measured),
// and the log keeps warnings and errors only, in one shared file.
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/load';
import type { Config } from '../../lib/config/schema';
import { openZbsLink, type ZbsLink } from '../../lib/observe/zbs/link';
import { createHttp, type Http } from '../../lib/observe/zbs/http';
import type { Agent } from '../../lib/pass/agent';
import { runPass } from '../../lib/pass/pass';
import type { Observer } from '../../lib/observe';
import { createZbsClient } from '../../lib/observe/zbs/client';
import { cachedRoutes } from '../../lib/routes/cached';
import { alreadyRight, unchanged } from '../../lib/routes/commands';
import type { RouteBackend } from '../../lib/routes/types';
import { monotonicMs } from '../../lib/runtime/host';
import type { FileLog } from '../../lib/runtime/logger';
import type { ProbeResult } from '../../lib/types';
import { refuseOutsideLoopback } from './netns';

/** The benchmark's phases, in order. */
export const PHASES = ['warmup', 'steady', 'slowdown', 'recovery'] as const;
export type Phase = (typeof PHASES)[number];

/** Which phase the run is in; everything a host counts goes to the phase of the moment. */
export class Timeline {
  phase: Phase = 'warmup';
  private readonly counters = new Set<InFlight>();

  enter(phase: Phase): void {
    this.phase = phase;
    for (const c of this.counters) c.phaseStarts(phase);
  }

  /** A counter of requests in flight whose peak is kept per phase. */
  inFlight(): InFlight {
    const c = new InFlight(this);
    this.counters.add(c);
    return c;
  }
}

/** Requests in flight: from request() until its promise settles. */
export class InFlight {
  now = 0;
  readonly peak: Record<Phase, number> = { warmup: 0, steady: 0, slowdown: 0, recovery: 0 };
  readonly started: Record<Phase, number> = { warmup: 0, steady: 0, slowdown: 0, recovery: 0 };

  constructor(private readonly timeline: Timeline) {}

  start(): void {
    this.now++;
    const phase = this.timeline.phase;
    this.started[phase]++;
    this.peak[phase] = Math.max(this.peak[phase], this.now);
  }

  end(): void {
    this.now--;
  }

  /** What is still in flight when a phase starts counts in that phase's peak. */
  phaseStarts(phase: Phase): void {
    this.peak[phase] = Math.max(this.peak[phase], this.now);
  }
}

/** The Http a link uses, counting its requests in flight on each of `counters` (the host's and the cluster's). */
export function countingHttp(inner: Http, counters: InFlight[]): Http {
  return {
    request(req) {
      for (const c of counters) c.start();
      return inner.request(req).finally(() => {
        for (const c of counters) c.end();
      });
    },
    dropConnections: () => inner.dropConnections(),
    close: () => inner.close(),
  };
}

/** One pass as the host saw it: how late it started after its slot, how long it took, how it ended. */
export interface PassSample {
  phase: Phase;
  lateMs: number;
  durationMs: number;
  /** null: the pass ended normally; else its error's message */
  error: string | null;
}

/** Warnings and errors of every host in one file, each line naming its host; counted per phase. */
export class FleetLog {
  private readonly out: WriteStream;
  readonly counts: Record<Phase, { warn: number; error: number }> = {
    warmup: { warn: 0, error: 0 },
    steady: { warn: 0, error: 0 },
    slowdown: { warn: 0, error: 0 },
    recovery: { warn: 0, error: 0 },
  };

  constructor(
    readonly file: string,
    private readonly timeline: Timeline,
  ) {
    this.out = createWriteStream(file, { flags: 'a' });
  }

  forHost(name: string): FileLog {
    const line = (level: 'warn' | 'error') => (message: string) => {
      this.counts[this.timeline.phase][level]++;
      this.out.write(`${new Date().toISOString()} ${name} ${this.timeline.phase} ${level.toUpperCase()} ${message}\n`);
    };
    return { error: line('error'), warn: line('warn'), info() {}, debug() {}, flush: async () => undefined };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

/** The VIP route of one host, in memory: what `ip route` would say and do, without a process a pass. */
export function memoryRoute(firstHop: string, hostIp: string): RouteBackend {
  let hops = [firstHop];
  return {
    platform: 'linux',
    readVip: async () => ({ ok: true, nextHops: [...hops] }),
    async switchTo(nextHop, current) {
      if (alreadyRight(current, nextHop)) return unchanged(current, false);
      hops = [nextHop];
      return { changed: true, dryRun: false, commands: [], before: current, after: [...hops], restored: false };
    },
    hostIps: async () => [hostIp],
  };
}

/** Every target answers: a monitor's verdicts for a cluster where nothing fails. */
const everyTargetUp: Observer['probes'] = async (targets) =>
  Object.fromEntries(
    targets.map((ip): [string, ProbeResult] => [
      ip,
      { ip, sent: 10, received: 10, lossPct: 0, rttMinMs: 0.1, rttAvgMs: 0.1, rttMaxMs: 0.2, reachable: true },
    ]),
  );

/** SCVM i of the fleet (1-based): data IP 127.10.0.i, manage IP 127.11.0.i; host i's own address 127.12.0.i. */
export function fleetAddresses(i: number) {
  return { dataIp: `127.10.0.${i}`, manageIp: `127.11.0.${i}`, hostIp: `127.12.0.${i}`, uuid: `scvm-${i}` };
}

export interface HostOptions {
  /** 1-based; its local SCVM is SCVM i */
  index: number;
  /** how many SCVMs the cluster has (every host lists them all, in the same order) */
  scvmCount: number;
  apiPort: number;
  credentials: { username: string; password: string };
  /** this host's files go under it */
  dir: string;
  everyMs: number;
  timeline: Timeline;
  log: FleetLog;
  /** the cluster's counter of requests in flight */
  cluster: InFlight;
}

/** The config a host's operator would write: its SCVMs, the API's port and credentials, its paths; the NFS check off. */
function writeHostConfig(o: HostOptions): string {
  const me = fleetAddresses(o.index);
  const scvms = Array.from({ length: o.scvmCount }, (_, k) => fleetAddresses(k + 1));
  for (const ip of [me.hostIp, ...scvms.flatMap((s) => [s.dataIp, s.manageIp])]) refuseOutsideLoopback(ip);
  const run = join(o.dir, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const file = join(o.dir, 'config.json');
  const body = {
    hypervisorIp: me.hostIp,
    local: { dataIp: me.dataIp, manageIp: me.manageIp },
    scvms: scvms.map((s) => ({ dataIp: s.dataIp, manageIp: s.manageIp })),
    api: { port: o.apiPort, ...o.credentials },
    paths: {
      state: join(o.dir, 'state.json'),
      record: join(run, 'record.json'),
      lock: join(run, 'reroute.lock'),
      log: join(o.dir, 'unused.log'),
      logLink: null,
    },
    // the NFS data-path check (on by default) would connect to the VIP, 192.168.33.2, from this machine's own
    // namespace: off here, where only the API's load is measured and the routes live in memory
    nfsCheck: { enabled: false },
  };
  writeFileSync(file, JSON.stringify(body, null, 2), { mode: 0o600 });
  return file;
}

/** A virtual host, running until stop(). */
export class VirtualHost {
  readonly config: Config;
  readonly inFlight: InFlight;
  readonly passes: PassSample[] = [];
  private readonly agent: Agent;
  private readonly link: ZbsLink;
  private readonly observer: Observer;
  private stopped = false;
  private wake: () => void = () => undefined;
  private running: Promise<void> | null = null;

  constructor(private readonly o: HostOptions) {
    const configFile = writeHostConfig(o);
    const { config, credentials } = loadConfig(configFile);
    this.config = config;
    const me = fleetAddresses(o.index);
    this.agent = {
      fallback: null,
      config,
      configPath: configFile,
      credentials,
      log: o.log.forHost(`host-${o.index}`),
      // the runner's route cache over the route, as lib/pass/runner.ts sets it up (10 s)
      backend: cachedRoutes(memoryRoute(me.dataIp, me.hostIp), 10_000, monotonicMs),
      dryRun: false,
      hostId: config.hypervisorIp ?? config.local.dataIp,
    };
    this.inFlight = o.timeline.inFlight();
    const api = config.api;
    const http = createHttp({ scheme: api.scheme, port: api.port, connectTimeoutMs: api.connectTimeoutMs, maxBodyBytes: api.maxBodyBytes });
    this.link = openZbsLink(api, { http: countingHttp(http, [this.inFlight, o.cluster]) });
    // the runner's observer, but every SCVM answers ping and the link counts its requests
    const link = this.link;
    this.observer = {
      probes: everyTargetUp,
      client: (deps) => createZbsClient({ ...deps, link }),
      onChange: () => undefined,
      results: () => ({}),
      handOver: () => null,
      close: () => link.close(),
    };
  }

  /** After `delayMs`, pass every cadence from a random offset within it, as the runner's slots are laid out. */
  start(delayMs: number): void {
    this.running = this.loop(delayMs);
  }

  private async loop(delayMs: number): Promise<void> {
    const every = this.o.everyMs;
    const grid = monotonicMs() + delayMs + Math.floor(Math.random() * every);
    let slot = grid;
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, slot - monotonicMs()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (this.stopped) break;
      const started = monotonicMs();
      const phase = this.o.timeline.phase;
      let error: string | null = null;
      try {
        await runPass(this.agent, { urgent: false, observer: this.observer });
      } catch (e) {
        error = (e as Error).message;
      }
      const now = monotonicMs();
      this.passes.push({ phase, lateMs: started - slot, durationMs: now - started, error });
      slot = grid + (Math.floor((now - grid) / every) + 1) * every;
    }
  }

  /** Let the pass under way finish, then close the link. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    await this.link.close();
  }
}
