// Act on a decision: move the route (only on a difference), refresh the session after every add, heartbeat the
// target. Every failure is logged and returned as an outcome; the engine records what really happened.
import type { Config } from '../config/schema';
import { RerouteError } from '../errors';
import { applyOutcome, heartbeatFor, type Decision, type EngineState, type Outcome } from '../decide';
import type { ZbsClient } from '../observe/zbs/client';
import type { RouteBackend } from '../routes';
import type { Deadline } from '../runtime/deadline';
import type { PassLock } from '../runtime/lock';
import type { Log } from '../runtime/log';
import { inSubnet } from '../net/ipv4';
import { refreshSession } from './refresh';
import { sendHeartbeat, type PinAudit } from './heartbeat';

export interface ActDeps {
  config: Config;
  log: Log;
  backend: RouteBackend;
  client: ZbsClient;
  lock: PassLock;
  deadline: Deadline;
  dryRun: boolean;
  /** agent time of this pass */
  now: number;
  /** Called after a switch took effect, before the refresh: the caller makes the new state durable. */
  switched(state: EngineState): void | Promise<void>;
  /** whether a heartbeat naming this target is due (its pace, lib/pass/pacing.ts); absent: every pass */
  heartbeatDue?(to: string): boolean;
  /** the operator's pin (who, from where, why: the heartbeat carries them while the pin decides) */
  pin?: PinAudit | null;
}

export interface ActResult {
  state: EngineState;
  outcome: Outcome;
  /** 'paced': not due this pass */
  heartbeat: 'sent' | 'failed' | 'none' | 'paced';
  /** the target the heartbeat named, when one was sent (whether or not it got through) */
  heartbeatTo?: string;
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
  const { config, log, backend, lock, deadline } = deps;
  // A pass that lost its lock (judged dead and taken over) must not touch the route.
  await lock.assertHeld();
  const from = decision.from.join(',') || 'none';
  log.info(`[+] trying to add route from ${config.nfsVip} to ${decision.nextHop} (was ${from}): ${decision.because}`);
  deadline.step = `switching the route to ${decision.nextHop}`;
  try {
    // The ESXi backend retries putting the old route back within what is left of the pass (issue 15 case 6).
    const r = await deadline.critical(() => backend.switchTo(decision.nextHop, decision.from, { budgetMs: deadline.leftMs() }));
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
    // A connection opened before the switch is not used after it.
    deps.client.dropConnections();
  }
}

async function refresh(order: NonNullable<Decision['refresh']>, deps: ActDeps, hostIps: () => Promise<string[] | null>) {
  const { config, log, client } = deps;
  deps.deadline.step = 'refreshing the session';
  if (deps.dryRun) {
    log.info(`dry run: would refresh session ${order.sessionId} via ${order.apiIp}`);
    return undefined;
  }
  const ips = await hostIps();
  const r =
    ips === null
      ? { ok: false as const, reason: "this host's IPs are unknown" }
      : await refreshSession(
          { client, config, log },
          {
            target: { sessionId: order.sessionId, dataIp: order.target, manageIp: order.apiIp, zone: null, alive: true, aliveSec: null },
            hostIps: ips,
          },
        );
  return r.ok
    ? { ok: true as const, target: order.target, sessionId: order.sessionId }
    : { ok: false as const, target: order.target, error: r.reason };
}

/** Carry out the decision; returns the engine state after what really happened. */
export async function act(decision: Decision, decided: EngineState, deps: ActDeps): Promise<ActResult> {
  const { config, log, client, dryRun } = deps;
  const hostIps = hostIpsOnce(deps.backend, log);
  const outcome: Outcome = {};
  let state = decided;

  if (decision.change) {
    const switched = await switchRoute(decision, deps);
    if (switched) {
      outcome.switched = switched;
      state = applyOutcome(state, { switched }, deps.now);
      if (switched.ok) await deps.switched(state);
    }
  }
  const switchFailed = outcome.switched?.ok === false;
  if (decision.refresh && !switchFailed) {
    const refreshed = await refresh(decision.refresh, deps, hostIps);
    if (refreshed) {
      outcome.refreshed = refreshed;
      state = applyOutcome(state, { refreshed }, deps.now);
    }
  }

  deps.deadline.step = 'sending the heartbeat';
  const hb = switchFailed ? heartbeatFor(config, state) : decision.heartbeat;
  let heartbeat: ActResult['heartbeat'] = 'none';
  if (hb === null) {
    log.warn('no heartbeat this pass: the route target has no known management IP');
  } else if (deps.heartbeatDue && !deps.heartbeatDue(hb.nfsTargetIp)) {
    heartbeat = 'paced';
  } else if (dryRun) {
    log.info(`dry run: would send a heartbeat to ${hb.apiIp}`);
  } else {
    const hypervisorIp = config.hypervisorIp ?? pickHypervisorIp(config, await hostIps());
    const pinned = decision.reason === 'pinned' || decision.reason === 'pinned-failing';
    const r = await sendHeartbeat(
      { client, config, log },
      { targetManageIp: hb.apiIp, nfsTargetIp: hb.nfsTargetIp, hypervisorIp, pin: pinned ? (deps.pin ?? null) : null },
    );
    heartbeat = r.ok ? 'sent' : 'failed';
  }
  return { state, outcome, heartbeat, ...((heartbeat === 'sent' || heartbeat === 'failed') && hb ? { heartbeatTo: hb.nfsTargetIp } : {}) };
}
