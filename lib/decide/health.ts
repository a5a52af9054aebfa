// What this pass knows about each SCVM: ICMP from the probes, liveness from the session list (fresh or remembered).
import type { Config } from '../config/schema';
import type { Observations, ProbeResult } from '../types';
import type { NfsVerdict } from './nfs';
import type { EngineState, KnownScvm, LocalStatus } from './state';

/** SCVMs unseen in fresh lists for this long are forgotten (removed from the cluster). */
const FORGET_AFTER_MS = 7 * 86_400 * 1000;

export type Icmp = 'up' | 'down' | 'unknown';

/** ICMP verdict of one IP this pass; an IP not probed is "unknown", never "down". */
export function icmpOf(probes: Record<string, ProbeResult>, ip: string): Icmp {
  const p = probes[ip];
  if (!p) return 'unknown';
  return p.reachable ? 'up' : 'down';
}

/** What the session lists have shown, and when each SCVM was last in one. */
export interface SessionMemory {
  sessions: EngineState['sessions'];
  lastSeen: Record<string, number>;
}

/**
 * Merge a fresh session list into what was known; without one, keep the memory as it is. An SCVM whose last sighting
 * is not recorded (the record is lost at a reboot) counts as seen now: it is forgotten only after 7 days unseen.
 */
export function mergeSessions(prev: SessionMemory, obs: Observations['sessions'], now: number): SessionMemory {
  if (!obs.ok || obs.reused) return prev;
  const byIp = new Map<string, KnownScvm>();
  const lastSeen: Record<string, number> = {};
  for (const k of prev.sessions.known) {
    const seen = prev.lastSeen[k.dataIp] ?? now;
    if (now - seen <= FORGET_AFTER_MS) {
      byIp.set(k.dataIp, { ...k, alive: false });
      lastSeen[k.dataIp] = seen;
    }
  }
  const seen = new Set<string>();
  for (const s of obs.sessions) {
    const before = byIp.get(s.dataIp);
    // Two sessions for one data IP (a restart in progress): alive wins, so a stale dead one cannot mask it.
    if (before && seen.has(s.dataIp) && before.alive && !s.alive) continue;
    seen.add(s.dataIp);
    byIp.set(s.dataIp, {
      dataIp: s.dataIp,
      manageIp: s.manageIp ?? before?.manageIp ?? null,
      zone: s.zone ?? before?.zone ?? null,
      sessionId: s.sessionId,
      alive: s.alive,
    });
    lastSeen[s.dataIp] = now;
  }
  const known = [...byIp.values()].sort((a, b) => cmpIp(a.dataIp, b.dataIp));
  return { sessions: { everSeen: true, known }, lastSeen };
}

/** The active list: the data IPs whose session is alive. */
export function activeDataIps(known: KnownScvm[]): string[] {
  return known.filter((k) => k.alive).map((k) => k.dataIp);
}

/** Local healthy: the local SCVM answers ICMP and a fresh list shows its session alive. */
export function judgeLocal(obs: Observations, config: Config): LocalStatus {
  const icmp = icmpOf(obs.probes, config.local.dataIp);
  if (icmp === 'down') return 'icmp-down';
  if (!obs.sessions.ok) return 'unknown';
  const own = obs.sessions.sessions.filter((s) => s.dataIp === config.local.dataIp);
  if (own.length === 0) return 'session-missing';
  if (!own.some((s) => s.alive)) return 'session-dead';
  return icmp === 'up' ? 'healthy' : 'unknown';
}

/** Numeric order of dotted quads, so 10.0.0.9 sorts before 10.0.0.10 on every host alike. */
export function cmpIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One SCVM of the cluster as this pass sees it. */
export interface ScvmView {
  dataIp: string;
  manageIp: string | null;
  zone: string | null;
  sessionId: string | null;
  /** true: alive per the session list; false: known not alive; null: never seen in a list */
  alive: boolean | null;
  dataIcmp: Icmp;
  manageIcmp: Icmp;
  /** its NFS data path (nfsVerdictOf): "failed" makes it no usable target */
  nfs: NfsVerdict;
}

/** Every SCVM known from the config and the session lists, the local one included, sorted by data IP. */
export function clusterView(config: Config, known: KnownScvm[], probes: Record<string, ProbeResult>): ScvmView[] {
  const byIp = new Map<string, ScvmView>();
  const add = (dataIp: string, manageIp: string | null, zone: string | null) => {
    if (byIp.has(dataIp)) return;
    byIp.set(dataIp, { dataIp, manageIp, zone, sessionId: null, alive: null, dataIcmp: 'unknown', manageIcmp: 'unknown', nfs: 'unknown' });
  };
  add(config.local.dataIp, config.local.manageIp, config.local.zone ?? config.zone ?? null);
  for (const s of config.scvms) add(s.dataIp, s.manageIp, s.zone ?? null);
  for (const k of known) {
    const v = byIp.get(k.dataIp);
    if (v) {
      v.manageIp = k.manageIp ?? v.manageIp;
      v.zone = k.zone ?? v.zone;
      v.sessionId = k.sessionId;
      v.alive = k.alive;
    } else {
      byIp.set(k.dataIp, { ...k, dataIcmp: 'unknown', manageIcmp: 'unknown', nfs: 'unknown' });
    }
  }
  const views = [...byIp.values()];
  for (const v of views) {
    v.dataIcmp = icmpOf(probes, v.dataIp);
    v.manageIcmp = v.manageIp ? icmpOf(probes, v.manageIp) : 'unknown';
  }
  return views.sort((a, b) => cmpIp(a.dataIp, b.dataIp));
}

/**
 * A remote data IP is usable when it answers ICMP, its session is alive and its NFS is not known failed. Before any
 * session list was ever received (cold start during an API outage) ICMP alone decides, so a crash then still has
 * somewhere to go.
 */
export function dataUsable(v: ScvmView, sessionsEverSeen: boolean): boolean {
  if (v.dataIcmp !== 'up' || v.nfs === 'failed') return false;
  return v.alive === true || (!sessionsEverSeen && v.alive === null);
}

/** The secondary data channel: a management IP is usable when it answers ICMP, its SCVM's session is alive and NFS not failed. */
export function manageUsable(v: ScvmView, sessionsEverSeen: boolean): boolean {
  if (!v.manageIp || v.manageIcmp !== 'up' || v.nfs === 'failed') return false;
  return v.alive === true || (!sessionsEverSeen && v.alive === null);
}
