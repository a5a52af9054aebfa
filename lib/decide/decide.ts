// The pure engine: (observations, previous state, pin, config, now) -> (decision, new state). No I/O, no clock.
import type { Config } from '../config/schema';
import type { Observations, Pin } from '../types';
import { activeDataIps, clusterView, icmpOf, judgeLocal, mergeSessions, type ScvmView } from './health';
import { appendJournal } from './journal';
import { trackLocal } from './local';
import { nfsVerdictOf, trackNfs } from './nfs';
import { judgePin, pinOutcome, type PinTargetFailing } from './pin';
import { applyRules, type CurrentKind, type RuleContext } from './rules';
import type { EngineState, LocalStatus, ReasonCode } from './state';
import { rateLimit } from './warnings';

/** Everything one pass hands to the engine. */
export interface DecideInput {
  obs: Observations;
  state: EngineState;
  pin: Pin | null;
  config: Config;
  /** epoch ms of this pass */
  now: number;
  /** this host's IP (heartbeat identity); the balanced assignment names hosts by their SCVM's data IP */
  hostId: string;
}

/** The session refresh owed this pass (refresh after add): PUT to apiIp for sessionId. */
export interface RefreshOrder {
  /** the target the route goes via */
  target: string;
  /** management IP of the SCVM whose API gets the PUT */
  apiIp: string;
  sessionId: string;
}

/** What the pass should do, and why. */
export interface Decision {
  /** the address the route should go via (data IP, management IP, or the pin); never null: we never ask to delete */
  target: string;
  /** the route's gateway: target after the RDMA accessIps mapping */
  nextHop: string;
  /** the route must be changed this pass; false whenever it already is exactly [nextHop] (already right) */
  change: boolean;
  /** next hops before this pass (observed, or believed when the route could not be read) */
  from: string[];
  /** row of the priority table that decided */
  row: number;
  reason: ReasonCode;
  /** plain words for the log and `status` */
  because: string;
  local: LocalStatus;
  /** seconds of the local SCVM's unbroken healthy streak, null when none */
  localHealthySec: number | null;
  /** stable period the return currently needs (flap damping included), s */
  requiredStableSec: number;
  /** do the session refresh this pass (after the route change succeeded, if there is one) */
  refresh: RefreshOrder | null;
  /** where to send the heartbeat, assuming the change (if any) succeeds; see heartbeatFor() otherwise */
  heartbeat: Heartbeat | null;
  /**
   * the caller removes the pin from state: it has expired, or its target has failed past decide.pinGraceSec and LOOP
   * found a healthy target (a warning says which)
   */
  clearPin: boolean;
  /** the operator's pinned target fails this pass (status and heartbeat show it); null when it does not or no pin */
  pinTargetFailing: PinTargetFailing | null;
  /** rate-limited warnings to log this pass */
  warnings: string[];
  /** the active list: data IPs of the SCVMs with a live session */
  activeDataIps: string[];
}

/** Heartbeat destination and the status the monitor shows (0 = on the local SCVM, 2 = switched away). */
export interface Heartbeat {
  apiIp: string;
  nfsTargetIp: string;
  rerouted: boolean;
}

function reverseAccess(config: Config): Map<string, string> {
  const m = new Map<string, string>();
  for (const [data, access] of Object.entries(config.accessIps)) m.set(access, data);
  return m;
}

function viewOf(views: ScvmView[], ip: string | null): { kind: CurrentKind; view: ScvmView | null } {
  if (ip === null) return { kind: 'none', view: null };
  const byData = views.find((v) => v.dataIp === ip);
  if (byData) return { kind: 'remote', view: byData };
  const byManage = views.find((v) => v.manageIp === ip);
  if (byManage) return { kind: 'secondary', view: byManage };
  return { kind: 'foreign', view: null };
}

/** The SCVM view behind a target address (data or management IP). */
function scvmFor(views: ScvmView[], ip: string): ScvmView | null {
  return views.find((v) => v.dataIp === ip) ?? views.find((v) => v.manageIp === ip) ?? null;
}

/** Heartbeat destination for a route target: the target SCVM's API (its management IP). */
export function heartbeatFor(config: Config, state: EngineState, target: string | null = state.target): Heartbeat | null {
  if (target === null) return null;
  const views = clusterView(config, state.sessions.known, {});
  const v = scvmFor(views, target);
  const apiIp = v?.manageIp ?? null;
  if (apiIp === null) return null;
  return { apiIp, nfsTargetIp: target, rerouted: target !== config.local.dataIp };
}

/** Decide one pass. Same input, same output. */
export function decide(input: DecideInput): { decision: Decision; state: EngineState } {
  const { obs, state: prev, pin, config, now } = input;
  const cfg = config.decide;

  const memory = mergeSessions({ sessions: prev.sessions, lastSeen: prev.record.lastSeen }, obs.sessions, now);
  const sessions = memory.sessions;
  const freshList = obs.sessions.ok && !obs.sessions.reused;
  const listAt = freshList ? now : prev.record.listAt;
  const views = clusterView(config, sessions.known, obs.probes);
  const localView = views.find((v) => v.dataIp === config.local.dataIp)!;
  const rerouteEnabled = obs.switches?.enableReroute ?? true;
  const secondaryChannel =
    cfg.useSecondaryDataChannel === 'cluster' && (obs.switches?.enableSecondaryDataChannel ?? false);

  // Where the route points now: observed, else believed.
  const access = reverseAccess(config);
  const from = obs.route.ok ? obs.route.nextHops : prev.target === null ? [] : [config.accessIps[prev.target] ?? prev.target];
  const currentIp = obs.route.ok
    ? (obs.route.nextHops[0] === undefined ? null : (access.get(obs.route.nextHops[0]) ?? obs.route.nextHops[0]))
    : prev.target;
  const cur = viewOf(views, currentIp);
  const kind: CurrentKind = currentIp === config.local.dataIp ? 'local' : cur.kind;

  // The NFS data path: this pass's check went via the route as observed (a believed route is no evidence).
  const nfs = trackNfs(prev.record, obs.nfs, obs.route.ok ? currentIp : null, cur.view?.dataIp ?? null, now, config);
  for (const v of views) v.nfs = nfsVerdictOf(nfs, v.dataIp, config);

  // The local SCVM's streak, flap damping and session confirmation. "unknown" neither starts nor breaks a streak.
  const observed = judgeLocal(obs, config);
  const status: LocalStatus = kind === 'local' && localView.nfs === 'failed' && observed !== 'icmp-down' ? 'nfs-down' : observed;
  const { local, damping, suspect, sightings, healthySec, requiredSec, owesPeriod } = trackLocal(prev, status, freshList && obs.sessions.ok ? obs.sessions.from : null, now, config);
  const icmp = (ip: string) => icmpOf(obs.probes, ip);
  const pinJudged = judgePin(pin, prev.pinWatch, views, icmp, sessions.everSeen, now, config);

  const ctx: RuleContext = {
    config,
    now,
    pin: pinJudged.view,
    rerouteEnabled,
    secondaryChannel,
    views,
    sessionsEverSeen: sessions.everSeen,
    icmp,
    apiDown: obs.sessions.ok ? null : obs.sessions.reason,
    localView,
    local: status,
    localDown: local.down || localView.dataIcmp === 'down',
    suspect,
    sightings,
    localOwesPeriod: owesPeriod,
    healthySec,
    requiredSec,
    current: { ip: currentIp, kind, view: cur.view },
    nfsWhy: nfs.why,
  };
  const choice = applyRules(ctx);
  const pinned = pinOutcome(pinJudged, choice, rerouteEnabled, config);
  choice.because = pinned.because;
  const nextHop = config.accessIps[choice.target] ?? choice.target;
  // An unreadable route with no belief about it is never changed blindly: an ESXi add could collide with the real one.
  const routeKnown = obs.route.ok || prev.target !== null;
  const change = routeKnown && !(from.length === 1 && from[0] === nextHop);

  // Refresh after add: a refresh is owed whenever the route's target is not where the last successful refresh went
  // (the local SCVM when none was ever needed). Worked out from the route as observed, so none is ever lost: not by a
  // pass killed between its switch and its refresh, nor by a switch that took effect but read back as failed.
  const raised: { key: string; text: string }[] = [];
  let refresh: RefreshOrder | null = null;
  if (change || choice.target !== refreshedTarget(prev, config.local.dataIp)) {
    const v = scvmFor(views, choice.target);
    const apiIp = v?.manageIp ?? (obs.sessions.ok ? obs.sessions.from : null);
    if (v?.sessionId && apiIp) {
      refresh = { target: choice.target, apiIp, sessionId: v.sessionId };
    } else {
      raised.push({
        key: 'refresh-no-session',
        text: `session refresh for ${choice.target} cannot be sent: no session id known for that SCVM yet; kept pending`,
      });
    }
  }

  if (!obs.sessions.ok) {
    const age = listAt === null ? (sessions.everSeen ? 'none since the host booted' : 'none ever received') : `last one ${Math.round((now - listAt) / 1000)} s old`;
    raised.push({ key: 'api-down', text: `no fresh session list (${obs.sessions.reason}; ${age}): deciding on ping and the last list` });
  }
  if (nfs.run !== null && nfs.run.failed > 0 && obs.nfs.result === 'failed') {
    raised.push({ key: 'nfs-failing', text: `NFS data path via ${nfs.run.target}: ${nfs.why}` });
  }
  if (config.nfsCheck.enabled && obs.nfs.result === 'unknown' && !obs.nfs.skipped) {
    raised.push({ key: 'nfs-unknown', text: `the NFS data-path check could not be made (${obs.nfs.why}); it never counts against a target` });
  }
  if (!obs.route.ok) {
    raised.push({ key: 'route-unreadable', text: `could not read the route (${obs.route.reason}); assuming it goes via ${prev.target ?? 'nothing'}` });
  }
  if (choice.reason === 'no-healthy-target' || choice.reason === 'no-route-fallback') {
    raised.push({ key: 'no-healthy-target', text: choice.because });
  }
  if (!sessions.everSeen && choice.reason !== 'local-ok' && choice.reason !== 'local-unconfirmed' && choice.target !== config.local.dataIp) {
    raised.push({ key: 'icmp-only', text: 'no session list was ever received: remote targets are judged by ping alone' });
  }
  if (pinJudged.expired) raised.push({ key: 'pin-expired', text: `the pin to ${pin!.target} expired at ${new Date(pin!.until!).toISOString()}: back to automatic` });
  if (pinned.warning) raised.push(pinned.warning);
  const warned = rateLimit(raised, prev.record.warnedAt, now);

  const active = activeDataIps(sessions.known);
  const state: EngineState = {
    v: 2,
    target: currentIp,
    local,
    damping,
    sessions,
    activeDataIps: obs.sessions.ok ? active : prev.activeDataIps,
    secondaryChannel,
    refreshed: prev.refreshed,
    pinWatch: pinned.pinWatch,
    record: {
      listAt,
      listFrom: freshList && obs.sessions.ok ? obs.sessions.from : prev.record.listFrom,
      lastSeen: memory.lastSeen,
      refreshFailing: prev.record.refreshFailing,
      journal: appendJournal(
        prev.record.journal,
        {
          at: now,
          local: status,
          api: obs.sessions.ok,
          from: from.join(','),
          to: choice.target,
          change,
          reason: choice.reason,
          because: choice.because,
        },
        config.journalSize,
      ),
      warnedAt: warned.warnedAt,
      nfsRun: nfs.run,
      nfsAvoid: nfs.avoid,
    },
  };
  const v = scvmFor(views, choice.target);
  const decision: Decision = {
    target: choice.target,
    nextHop,
    change,
    from,
    row: choice.row,
    reason: choice.reason,
    because: choice.because,
    local: status,
    localHealthySec: healthySec,
    requiredStableSec: requiredSec,
    refresh,
    heartbeat: v?.manageIp
      ? { apiIp: v.manageIp, nfsTargetIp: choice.target, rerouted: choice.target !== config.local.dataIp }
      : null,
    clearPin: pinJudged.expired || pinned.cleared,
    pinTargetFailing: pinned.failing,
    warnings: warned.emit,
    activeDataIps: state.activeDataIps,
  };
  return { decision, state };
}

/** Where the last successful session refresh sent the route (the local SCVM when none was ever needed). */
export function refreshedTarget(s: Pick<EngineState, 'refreshed'>, localDataIp: string): string {
  return s.refreshed?.target ?? localDataIp;
}

/** The target a session refresh is owed to, or null: the route's target is not where the last refresh went. */
export function refreshOwedTo(s: Pick<EngineState, 'target' | 'refreshed'>, localDataIp: string): string | null {
  return s.target !== null && s.target !== refreshedTarget(s, localDataIp) ? s.target : null;
}
