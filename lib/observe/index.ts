// Observe one pass: the VIP route, ICMP to every candidate, the session list and the NFS data path, all at once.
// Fast out: when the local SCVM fails ICMP the pass does not wait for the session list; meta needs seconds to notice
// a dead SCVM and VM I/O hangs meanwhile. Nor does a pass that is waiting when the runner's monitor judges the local
// SCVM or the current target down (`interrupt`): a crashed SCVM's NFS connect or API call would otherwise hold the
// pass, and with it the failover, for their whole timeouts (2 s for the NFS check).
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
