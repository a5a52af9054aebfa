// Watchers for end-to-end scenarios on the simulated cluster: route changes as the kernel reports them, who answers
// the NFS stand-in over time, the agent's journal. Everything runs inside the cluster's host namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { Cluster, PLAN, SCVM_NAMES, ensureBuilt, type ClusterOptions, type Cron, type ScvmName } from './cluster';
import type { EmuRecord } from './zbs-emulator';

/** Poll `cond` every `stepMs` until it is truthy; throws naming `what` after `timeoutMs`. */
type Falsy = false | null | undefined | 0 | '';
export async function waitFor<T>(
  what: string,
  cond: () => T | Falsy | Promise<T | Falsy>,
  timeoutMs: number,
  stepMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as T;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** A plain delay. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Kernel route events for the VIP in the host namespace (`ip monitor route`), with the time each line arrived. */
export class RouteMonitor {
  readonly events: { at: number; line: string }[] = [];
  private readonly child: ChildProcess;

  constructor(cluster: Cluster) {
    this.child = spawn('ip', ['netns', 'exec', cluster.ns('host'), 'ip', 'monitor', 'route'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buf = '';
    this.child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) if (line.includes(PLAN.vip)) this.events.push({ at: Date.now(), line });
    });
  }

  /** Give `ip monitor` time to subscribe before the scenario starts. */
  static async start(cluster: Cluster): Promise<RouteMonitor> {
    const m = new RouteMonitor(cluster);
    await sleep(200);
    return m;
  }

  /** Deletions of the VIP route (a `Deleted` line). */
  deletions(): { at: number; line: string }[] {
    return this.events.filter((e) => e.line.startsWith('Deleted'));
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * Who answered a new TCP connection to the NFS VIP from the host, one attempt started every `everyMs` whether or not
 * the last one finished (an attempt at a dead SCVM waits out its 1 s timeout; the next ones must not wait for it).
 */
export class NfsWatch {
  readonly samples: { at: number; who: string | null }[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly cluster: Cluster,
    everyMs = 100,
  ) {
    const tick = () => {
      const at = Date.now();
      const p = this.cluster.whoServesNfs(1000).then((who) => {
        this.samples.push({ at, who });
        this.samples.sort((a, b) => a.at - b.at);
        this.pending.delete(p);
      });
      this.pending.add(p);
    };
    tick();
    this.timer = setInterval(tick, everyMs);
  }

  /** First sample started at or after `since` whose answer satisfies `pred`. */
  first(since: number, pred: (who: string | null) => boolean): { at: number; who: string | null } | undefined {
    return this.samples.find((s) => s.at >= since && pred(s.who));
  }

  /** Wait until a sample started at or after `since` satisfies `pred`. */
  waitFirst(since: number, pred: (who: string | null) => boolean, timeoutMs: number) {
    return waitFor(`the NFS stand-in to answer as wanted`, () => this.first(since, pred), timeoutMs, 50);
  }

  /** Seconds between `from` and `to` covered by attempts nobody answered (each sample stands for `everyMs`). */
  unansweredSec(from: number, to: number, everyMs = 100): number {
    return (this.samples.filter((s) => s.at >= from && s.at < to && s.who === null).length * everyMs) / 1000;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.pending]);
  }
}

/** One journal entry of the agent (lib/decide/state.ts journalEntrySchema), loosely typed for assertions. */
export interface Journal {
  at: number;
  local: string;
  api: boolean;
  from: string;
  to: string;
  change: boolean;
  reason: string;
  because: string;
  switched?: string;
  refreshed?: string;
  /** passes folded into this entry (lib/decide/journal.ts); absent = one */
  repeats?: number;
  /** agent time of the last of them */
  until?: number;
}

/** The agent's journal from its record file ([] before the first pass). */
export function journalOf(cluster: Cluster): Journal[] {
  const engine = cluster.readRecord()?.engine as { journal?: Journal[] } | undefined;
  return engine?.journal ?? [];
}

/** When the last pass of an entry ran. */
export const lastAt = (j: Journal): number => j.until ?? j.at;

/** How many passes entries stand for. */
export const passCount = (entries: Journal[]): number => entries.reduce((n, j) => n + (j.repeats ?? 1), 0);

/** How many passes the agent's journal holds. */
export const passesOf = (cluster: Cluster): number => passCount(journalOf(cluster));

/** Journal entries that changed the route successfully. */
export function switchesOf(cluster: Cluster): Journal[] {
  return journalOf(cluster).filter((j) => j.change && j.switched === 'ok');
}

/** Records of one kind from every emulator, oldest first, each with the SCVM that got it. */
export async function recordsOf(
  cluster: Cluster,
  kind: 'logins' | 'sessionLists' | 'switches' | 'refreshes' | 'heartbeats',
): Promise<(EmuRecord & { scvm: ScvmName })[]> {
  const all = await cluster.records();
  return SCVM_NAMES.flatMap((s) => all[s][kind].map((r) => ({ ...r, scvm: s }))).sort((a, b) => a.at - b.at);
}

/** SCVM name for a data IP of the plan. */
export function scvmByDataIp(ip: string): ScvmName | undefined {
  return PLAN.scvms.find((s) => s.dataIp === ip)?.name as ScvmName | undefined;
}

/** Take an SCVM down the way a crash looks from outside: no ICMP answer, no API, no NFS. */
export async function killScvm(cluster: Cluster, scvm: ScvmName): Promise<void> {
  await cluster.fault(scvm, 'drop-icmp');
  await cluster.fault(scvm, 'api-down');
  await cluster.fault(scvm, 'nfs-down');
}

/** Bring it back. */
export async function reviveScvm(cluster: Cluster, scvm: ScvmName): Promise<void> {
  await cluster.heal(scvm, 'nfs-down');
  await cluster.heal(scvm, 'drop-icmp');
  await cluster.heal(scvm, 'api-down');
}

/**
 * The harness of an e2e test file, for use inside its `describe`: builds the agent once (beforeAll) and, after each
 * test, stops whatever that test started through it (cron, route monitor, NFS watch) and takes its cluster down, even
 * when a stop fails. Each method starts one thing and returns it; call them in the order the scenario needs.
 */
export function useClusterHarness() {
  let cluster: Cluster | undefined;
  let cron: Cron | undefined;
  let mon: RouteMonitor | undefined;
  let watch: NfsWatch | undefined;
  const current = (): Cluster => {
    if (!cluster) throw new Error('no cluster yet: call up() first');
    return cluster;
  };

  beforeAll(() => ensureBuilt());
  afterEach(async () => {
    try {
      await cron?.stop();
      mon?.stop();
      await watch?.stop();
    } finally {
      cluster?.down();
      cluster = cron = mon = watch = undefined;
    }
  });

  return {
    /** Bring up this test's cluster. */
    async up(opts?: ClusterOptions): Promise<Cluster> {
      cluster = await Cluster.up(opts);
      return cluster;
    },
    /** Watch kernel route events for the VIP. */
    async monitor(): Promise<RouteMonitor> {
      mon = await RouteMonitor.start(current());
      return mon;
    },
    /** Sample who answers the NFS VIP every `everyMs`. */
    watchNfs(everyMs: number): NfsWatch {
      watch = new NfsWatch(current(), everyMs);
      return watch;
    },
    /** Run the agent like cron every `everyMs`. */
    startCron(everyMs: number): Cron {
      cron = current().startCron(everyMs);
      return cron;
    },
  };
}
