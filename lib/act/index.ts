// Act on a decision: move the route (only on a difference), refresh the session after every add, heartbeat the
// target. Every failure is logged and returned as an outcome; the engine records what really happened.
import type { Config } from '../config/schema';
import { RerouteError } from '../errors';
import { applyOutcome, heartbeatFor, type Decision, type EngineState, type Outcome } from '../decide';
import type { ZbsClient } from '../observe/zbs/client';
import type { Log } from '../runtime/log';
import type { PassLock } from '../runtime/lock';
import type { Progress } from '../runtime/pass';
import { inSubnet } from '../net/ipv4';
import type { RouteBackend } from './routes/backend';
import { refreshSession } from './refresh';
import { sendHeartbeat } from './heartbeat';

export interface ActDeps {
  config: Config;
  log: Log;
  backend: RouteBackend;
  client: ZbsClient;
  lock: PassLock;
  progress: Progress;
  dryRun: boolean;
  now: number;
  /** Start writing the state after this pass (called before the heartbeat, which changes nothing in it). */
  persist?: (state: EngineState) => void;
}

export interface ActResult {
  state: EngineState;
  outcome: Outcome;
  heartbeat: 'sent' | 'failed' | 'none';
}

/** The host's management IP when the config does not name it: the one beside the local SCVM's, else the first. */
export function pickHypervisorIp(config: Config, ips: string[] | null): string | null {
  if (!ips || ips.length === 0) return null;
  return ips.find((ip) => inSubnet(ip, config.local.manageIp, 24)) ?? ips[0]!;
}

/** This host's IPs, asked of the host once per pass at most. */
function hostIpsOnce(backend: RouteBackend, log: Log): () => Promise<string[] | null> {
  let cached: Promise<string[] | null> | null = null;
  return () => {
    cached ??= backend.hostIps().catch((e: Error) => {
      log.warn(`cannot list this host's IPs: ${e.message}`);
      return null;
    });
    return cached;
  };
}

async function switchRoute(decision: Decision, deps: ActDeps): Promise<Outcome['switched']> {
  const { config, log, backend, lock, progress } = deps;
  // A pass that lost its lock (frozen past the stale period) must not touch the route.
  lock.assertHeld();
  const from = decision.from.join(',') || 'none';
  log.info(`[+] trying to add route from ${config.nfsVip} to ${decision.nextHop} (was ${from}): ${decision.because}`);
  progress.step = `switching the route to ${decision.nextHop}`;
  progress.critical++;
  try {
    const r = await backend.switchTo(decision.nextHop, decision.from);
    if (r.dryRun) {
      log.info(`dry run: route from ${config.nfsVip} left via ${from}`);
      return undefined;
    }
    log.info(`[+] route from ${config.nfsVip} now via ${r.after.join(',')} (was ${from})`);
    return { ok: true, to: decision.target };
  } catch (e) {
    const msg = e instanceof RerouteError ? e.message : String(e);
    log.error(`[-] failed to move route from ${config.nfsVip} to ${decision.nextHop}: ${msg}`);
    return { ok: false, to: decision.target, error: msg };
  } finally {
    progress.critical--;
    // A connection opened before the switch is not used after it.
    deps.client.dropConnections();
  }
}

/** Carry out the decision; returns the engine state after what really happened. */
export async function act(decision: Decision, state: EngineState, deps: ActDeps): Promise<ActResult> {
  const { config, log, client, dryRun } = deps;
  const hostIps = hostIpsOnce(deps.backend, log);
  const outcome: Outcome = {};

  if (decision.change) outcome.switched = await switchRoute(decision, deps);
  if (outcome.switched === undefined) delete outcome.switched;

  const switchFailed = outcome.switched?.ok === false;
  if (decision.refresh && !switchFailed) {
    deps.progress.step = 'refreshing the session';
    if (dryRun) {
      log.info(`dry run: would refresh session ${decision.refresh.sessionId} via ${decision.refresh.apiIp}`);
    } else {
      const ips = await hostIps();
      const r =
        ips === null
          ? { ok: false as const, reason: "this host's IPs are unknown" }
          : await refreshSession(
              { client, config, log },
              {
                target: {
                  sessionId: decision.refresh.sessionId,
                  dataIp: decision.refresh.target,
                  manageIp: decision.refresh.apiIp,
                  zone: null,
                  alive: true,
                  aliveSec: null,
                },
                hostIps: ips,
              },
            );
      outcome.refreshed = r.ok ? { ok: true } : { ok: false, error: r.reason };
    }
  }

  const after = applyOutcome(state, outcome, deps.now);
  // The heartbeat changes nothing in the engine's state: the state is written while the SCVM answers it.
  deps.persist?.(after);

  deps.progress.step = 'sending the heartbeat';
  const hb = switchFailed ? heartbeatFor(config, after) : decision.heartbeat;
  let heartbeat: ActResult['heartbeat'] = 'none';
  if (hb === null) {
    log.warn('no heartbeat this pass: the route target has no known management IP');
  } else if (dryRun) {
    log.info(`dry run: would send a heartbeat to ${hb.apiIp}`);
  } else {
    const hypervisorIp = config.hypervisorIp ?? pickHypervisorIp(config, await hostIps());
    const r = await sendHeartbeat(
      { client, config, log },
      { targetManageIp: hb.apiIp, nfsTargetIp: hb.nfsTargetIp, hypervisorIp },
    );
    heartbeat = r.ok ? 'sent' : 'failed';
  }
  return { state: after, outcome, heartbeat };
}
