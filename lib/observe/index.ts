// Observe one pass: the VIP route, ICMP to every candidate, the session list and the NFS data path, all at once.
// Fast out: when the local SCVM fails ICMP the pass does not wait for the session list; meta needs seconds to notice
// a dead SCVM and VM I/O hangs meanwhile. Nor does a pass that is waiting when the runner's monitor judges the local
// SCVM or the current target down (`interrupt`): a crashed SCVM's NFS connect or API call would otherwise hold the
// pass, and with it the failover, for their whole timeouts (2 s for the NFS check).
//
// openObserver is observe's face for the passes: what a process observes with (the ICMP verdicts, the API's link), so
// lib/pass never reaches into icmp/ or zbs/ (tests/layers.test.ts).
import type { Config } from '../config/schema';
import type { Log } from '../runtime/log';
import type { Observations, ProbeResult, SessionsObservation, ClusterSwitches, RouteObservation, NfsCheck } from '../types';
import type { RouteBackend } from '../routes';
import { createZbsClient, type ZbsClient, type ZbsClientDeps } from './zbs/client';
import { openZbsLink, type ZbsLink } from './zbs/link';
import type { BudgetMemory } from './zbs/race-state';
import { ProbeMonitor, type MonitorSnapshot, type Verdict } from './icmp/monitor';
import { probe } from './icmp/prober';
import { checkNfs, NFS_CHECK_OFF } from './nfs';
import type { Deadline } from '../runtime/deadline';

export type { ZbsClient } from './zbs/client';

/** What a process observes with, across its passes. */
export interface Observer {
  /**
   * ICMP verdicts of `all`, `fast` (the local SCVM, the target, the next candidates) first: a sweep of the pass's own
   * (one pass a process), or the long-lived monitor's verdicts as they stand, now watching these. Rejects (a sweep:
   * throws at once) with PermissionError only.
   */
  probes(all: string[], fast: string[]): Promise<Record<string, ProbeResult>>;
  /** A pass's API client, on the process's connections and race memory; close it at the pass's end. */
  client(deps: Omit<ZbsClientDeps, 'link'>): ZbsClient;
  /** Called when the monitor's verdict of a target changes (a sweep per pass: never). */
  onChange(fn: (ip: string, verdict: Verdict) => void): void;
  /** The monitor's verdicts as they stand (a sweep per pass: none). */
  results(): Record<string, ProbeResult>;
  /** What the next minute's process goes on from: the monitor's round trips and verdicts, the API's retry budget. */
  handOver(): { monitor: MonitorSnapshot; budget: BudgetMemory } | null;
  close(): Promise<void>;
}

/**
 * Open the observer of a process. `handedOver` (the long-lived runner, with what the last runner handed on): ICMP from
 * a monitor that pings all the time (opening its raw socket: throws PermissionError without the privilege) and one
 * link to the API for every pass. Without it (one pass a process): a sweep per pass, and a client that opens and
 * closes its own connections.
 */
export function openObserver(config: Config, log: Log, handedOver?: { monitor: MonitorSnapshot; budget: BudgetMemory | undefined }): Observer {
  if (!handedOver) {
    return {
      probes: (all) => probe(all, config.probe, log),
      client: (deps) => createZbsClient(deps),
      onChange: () => undefined,
      results: () => ({}),
      handOver: () => null,
      close: async () => undefined,
    };
  }
  const monitor = new ProbeMonitor(config.probe, log, handedOver.monitor);
  // connections, answer times and the retry budget live as long as the process
  const link: ZbsLink = openZbsLink(config.api, { budget: handedOver.budget });
  return {
    probes: async (all, fast) => {
      monitor.watch(fast, all);
      return monitor.results();
    },
    client: (deps) => createZbsClient({ ...deps, link }),
    onChange: (fn) => monitor.onChange(fn),
    results: () => monitor.results(),
    handOver: () => ({ monitor: monitor.snapshot(), budget: link.race.budget.memory() }),
    async close() {
      monitor.close();
      await link.close();
    },
  };
}

export interface ObserveDeps {
  config: Config;
  log: Log;
  backend: RouteBackend;
  client: ZbsClient;
  deadline: Deadline;
  /** the ICMP sweep, already in flight (it is the longest step: started first); rejects with PermissionError only */
  probes: Promise<Record<string, ProbeResult>>;
  /** resolves with fresh verdicts when one that matters turns down while the pass waits (the runner's monitor) */
  interrupt?: Promise<{ down: string; probes: Record<string, ProbeResult> }>;
  /** switches as cached in the state, used when the pass does not wait for the API */
  cachedSwitches: ClusterSwitches | null;
  /** the last fresh session list, when this pass need not ask for one (the pacing, lib/pass/pacing.ts) */
  reuseList: SessionsObservation | null;
}

/** Everything this pass needs to decide. */
export async function observe(deps: ObserveDeps): Promise<Observations> {
  const { config, log, backend, client } = deps;
  deps.deadline.step = 'observing (route, ICMP, API)';
  const route: Promise<RouteObservation> = backend.readVip();
  const sessions: Promise<SessionsObservation> = deps.reuseList ? Promise.resolve(deps.reuseList) : client.sessions();
  const switches: Promise<ClusterSwitches | null> = client.switches();
  const { enabled, port, timeoutMs } = config.nfsCheck;
  const nfs: Promise<NfsCheck> = enabled ? checkNfs({ vip: config.nfsVip, port, timeoutMs }) : Promise.resolve(NFS_CHECK_OFF);
  let probes = await deps.probes;
  const local = probes[config.local.dataIp];
  let fastOut: string | null = local && !local.reachable ? 'the local SCVM fails ICMP' : null;
  let waited: [SessionsObservation, ClusterSwitches | null, NfsCheck] | null = null;
  if (fastOut === null) {
    const all = Promise.all([sessions, switches, nfs]);
    const first = await (deps.interrupt ? Promise.race([all, deps.interrupt]) : all);
    if (Array.isArray(first)) waited = first;
    else {
      probes = first.probes;
      fastOut = `${first.down} went down while the pass waited`;
    }
  }
  if (waited === null) {
    const notWaited: SessionsObservation = { ok: false, reason: `not awaited: ${fastOut} (fast out)`, skipped: true };
    waited = [
      await Promise.race([sessions, Promise.resolve(notWaited)]),
      await Promise.race([switches, Promise.resolve(deps.cachedSwitches)]),
      await Promise.race([nfs, Promise.resolve<NfsCheck>({ result: 'unknown', why: 'not awaited (fast out)', skipped: true })]),
    ];
    if (waited[0] === notWaited) log.debug(`${fastOut}: deciding without waiting for the session list`);
  }
  const [sessionsNow, switchesNow, nfsNow] = waited;
  const routeNow = await route;
  return { probes, sessions: sessionsNow, switches: switchesNow, route: routeNow, nfs: nfsNow };
}

/**
 * Before a switch, what this pass reused (the last session list, the runner's cached route) is looked at again: a
 * fresh route read, and a fresh list unless the local SCVM fails ICMP (then the pass would not wait for one anyway).
 */
export async function observeAgain(deps: Pick<ObserveDeps, 'config' | 'backend' | 'client' | 'deadline'>, obs: Observations): Promise<Observations> {
  const local = obs.probes[deps.config.local.dataIp];
  const fastOut = (local && !local.reachable) || (!obs.sessions.ok && obs.sessions.skipped === true);
  const askList = obs.sessions.reused === true && !fastOut;
  const readRoute = obs.route.ok && obs.route.reused === true;
  if (!askList && !readRoute) return obs;
  deps.deadline.step = 'observing again before a switch';
  const [sessions, route] = await Promise.all([
    askList ? deps.client.sessions() : obs.sessions,
    readRoute ? deps.backend.readVip({ fresh: true }) : obs.route,
  ]);
  return { ...obs, sessions, route };
}
