// Observe one pass: the VIP route, ICMP to every candidate, the session list and the NFS data path, all at once.
// Fast out: when the local SCVM fails ICMP the pass does not wait for the session list; meta needs seconds to notice
// a dead SCVM and VM I/O hangs meanwhile.
import type { Config } from '../config/schema';
import type { Log } from '../runtime/log';
import type { Observations, ProbeResult, SessionsObservation, ClusterSwitches, RouteObservation, NfsCheck } from '../types';
import type { RouteBackend } from '../routes';
import type { ZbsClient } from './zbs/client';
import { checkNfs, NFS_CHECK_OFF } from './nfs';
import type { Deadline } from '../runtime/deadline';

export interface ObserveDeps {
  config: Config;
  log: Log;
  backend: RouteBackend;
  client: ZbsClient;
  deadline: Deadline;
  /** the ICMP sweep, already in flight (it is the longest step: started first); rejects with PermissionError only */
  probes: Promise<Record<string, ProbeResult>>;
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
  const probes = await deps.probes;
  const local = probes[config.local.dataIp];
  let sessionsNow: SessionsObservation;
  let switchesNow: ClusterSwitches | null;
  let nfsNow: NfsCheck;
  if (local && !local.reachable) {
    const notWaited: SessionsObservation = { ok: false, reason: 'not awaited: the local SCVM fails ICMP (fast out)', skipped: true };
    sessionsNow = await Promise.race([sessions, Promise.resolve(notWaited)]);
    switchesNow = await Promise.race([switches, Promise.resolve(deps.cachedSwitches)]);
    nfsNow = await Promise.race([nfs, Promise.resolve<NfsCheck>({ result: 'unknown', why: 'not awaited (fast out)', skipped: true })]);
    if (sessionsNow === notWaited) log.debug('local SCVM fails ICMP: deciding without waiting for the session list');
  } else {
    [sessionsNow, switchesNow, nfsNow] = await Promise.all([sessions, switches, nfs]);
  }
  const routeNow = await route;
  return { probes, sessions: sessionsNow, switches: switchesNow, route: routeNow, nfs: nfsNow };
}

/**
 * Before a switch, what this pass reused (the last session list, the runner's cached route) is looked at again: a
 * fresh route read, and a fresh list unless the local SCVM fails ICMP (then the pass would not wait for one anyway).
 */
export async function observeAgain(deps: Pick<ObserveDeps, 'config' | 'backend' | 'client' | 'deadline'>, obs: Observations): Promise<Observations> {
  const local = obs.probes[deps.config.local.dataIp];
  const askList = obs.sessions.reused === true && !(local && !local.reachable);
  const readRoute = obs.route.ok && obs.route.reused === true;
  if (!askList && !readRoute) return obs;
  deps.deadline.step = 'observing again before a switch';
  const [sessions, route] = await Promise.all([
    askList ? deps.client.sessions() : obs.sessions,
    readRoute ? deps.backend.readVip({ fresh: true }) : obs.route,
  ]);
  return { ...obs, sessions, route };
}
