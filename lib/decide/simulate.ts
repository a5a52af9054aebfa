// Replay a timeline through the real engine with a virtual clock: observe (from the scripted world) -> decide ->
// act (instant, or failing when scripted) -> record. Pure: the same timeline gives the same report.
import type { Config } from '../config/schema';
import type { ClusterSwitches, Observations, ProbeResult, ZbsSession } from '../types';
import { decide } from './decide';
import { applyOutcome } from './outcome';
import { probeTargets } from './probe-targets';
import { initialEngineState, type EngineState, type ReasonCode } from './state';
import type { Timeline, WorldSet } from './timeline';

/** Virtual epoch of second 0: 2024-01-01T00:00:00Z. */
export const SIM_EPOCH_MS = Date.UTC(2024, 0, 1);

interface ScvmWorld {
  dataIp: string;
  manageIp: string;
  zone: string | null;
  icmp: boolean;
  session: 'alive' | 'dead' | 'missing';
  manageIcmp: boolean;
}

interface World {
  scvms: Map<string, ScvmWorld>;
  api: boolean;
  reroute: boolean;
  secondaryChannel: boolean;
  routeChangeFails: boolean;
  /** next hops of the NFS VIP route */
  route: string[];
}

/** One switch of the route during the replay. */
export interface SimSwitch {
  atSec: number;
  from: string;
  to: string;
  reason: ReasonCode;
  because: string;
  ok: boolean;
}

/** What a replay produced. */
export interface SimReport {
  name: string;
  durationSec: number;
  passes: number;
  switches: SimSwitch[];
  /** seconds the route pointed at a target that did not answer ping or had no live session */
  deadPathSec: number;
  /** seconds the route pointed anywhere but the local SCVM */
  reroutedSec: number;
  /** changes of scripted health facts (each SCVM's ping, session, management ping; API; cluster switches) */
  healthChanges: number;
  /** route state at each second (for invariant tests) */
  routeBySec: string[];
  finalState: EngineState;
}

function apply(world: World, set: WorldSet, localIp: string): void {
  const edit = (ip: string, s: NonNullable<WorldSet['local']>) => {
    const w = world.scvms.get(ip);
    if (!w) return;
    if (s.icmp !== undefined) w.icmp = s.icmp;
    if (s.session !== undefined) w.session = s.session;
    if (s.manageIcmp !== undefined) w.manageIcmp = s.manageIcmp;
  };
  if (set.local) edit(localIp, set.local);
  for (const [ip, s] of Object.entries(set.scvms ?? {})) edit(ip, s);
  if (set.api !== undefined) world.api = set.api;
  if (set.reroute !== undefined) world.reroute = set.reroute;
  if (set.secondaryChannel !== undefined) world.secondaryChannel = set.secondaryChannel;
  if (set.routeChangeFails !== undefined) world.routeChangeFails = set.routeChangeFails;
}

// Every observable health fact, one entry each: a change of any of them is one health change.
function healthFacts(world: World): unknown[] {
  const facts: unknown[] = [world.api, world.reroute, world.secondaryChannel];
  for (const s of world.scvms.values()) facts.push(s.icmp, s.session, s.manageIcmp);
  return facts;
}

function probe(ip: string, up: boolean): ProbeResult {
  return up
    ? { ip, sent: 10, received: 10, lossPct: 0, rttMinMs: 0.2, rttAvgMs: 0.3, rttMaxMs: 0.5, reachable: true }
    : { ip, sent: 10, received: 0, lossPct: 100, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, reachable: false };
}

function observe(world: World, ips: string[], switches: ClusterSwitches | null): Observations {
  const probes: Record<string, ProbeResult> = {};
  const byAnyIp = new Map<string, { s: ScvmWorld; manage: boolean }>();
  for (const s of world.scvms.values()) {
    byAnyIp.set(s.dataIp, { s, manage: false });
    byAnyIp.set(s.manageIp, { s, manage: true });
  }
  for (const ip of ips) {
    const hit = byAnyIp.get(ip);
    probes[ip] = probe(ip, hit ? (hit.manage ? hit.s.manageIcmp : hit.s.icmp) : false);
  }
  const all = [...world.scvms.values()];
  const sessions: ZbsSession[] = all
    .filter((s) => s.session !== 'missing')
    .map((s) => ({
      sessionId: `sess-${s.dataIp.replace(/\./g, '-')}`,
      dataIp: s.dataIp,
      manageIp: s.manageIp,
      zone: s.zone,
      alive: s.session === 'alive',
      aliveSec: s.session === 'alive' ? 8 : 0,
    }));
  const from = all.find((s) => s.manageIcmp)?.manageIp ?? all[0]!.manageIp;
  return {
    probes,
    sessions: world.api ? { ok: true, sessions, from } : { ok: false, reason: `HTTP to ${from} timed out` },
    switches,
    route: { ok: true, nextHops: [...world.route] },
  };
}

function pathDead(world: World, hop: string | undefined): boolean {
  if (hop === undefined) return true;
  for (const s of world.scvms.values()) {
    if (s.dataIp === hop) return !s.icmp || s.session !== 'alive';
    if (s.manageIp === hop) return !s.manageIcmp || s.session !== 'alive';
  }
  return true;
}

/** Replay `timeline` against `config` (which names the cluster), one engine pass every passEverySec. */
export function simulate(timeline: Timeline, config: Config): SimReport {
  const localIp = config.local.dataIp;
  const scvms = new Map<string, ScvmWorld>();
  for (const s of [config.local, ...config.scvms]) {
    if (scvms.has(s.dataIp)) continue;
    const zone = s.dataIp === localIp ? (config.local.zone ?? config.zone ?? null) : (s.zone ?? null);
    scvms.set(s.dataIp, { dataIp: s.dataIp, manageIp: s.manageIp, zone, icmp: true, session: 'alive', manageIcmp: true });
  }
  const world: World = { scvms, api: true, reroute: true, secondaryChannel: false, routeChangeFails: false, route: [localIp] };
  apply(world, timeline.start, localIp);

  let state = initialEngineState();
  let switchesCache: ClusterSwitches | null = null;
  const report: SimReport = {
    name: timeline.name ?? 'timeline',
    durationSec: timeline.durationSec,
    passes: 0,
    switches: [],
    deadPathSec: 0,
    reroutedSec: 0,
    healthChanges: 0,
    routeBySec: [],
    finalState: state,
  };
  let lastHealth = healthFacts(world);
  for (let t = 0; t < timeline.durationSec; t++) {
    for (const e of timeline.events) {
      const hit = e.every === undefined ? e.at === t : t >= e.at && t < e.until! && (t - e.at) % e.every === 0;
      if (hit) apply(world, e.set, localIp);
    }
    const h = healthFacts(world);
    report.healthChanges += h.filter((f, i) => f !== lastHealth[i]).length;
    lastHealth = h;

    if (t % timeline.passEverySec === 0) {
      const now = SIM_EPOCH_MS + t * 1000;
      if (world.api) switchesCache = { enableReroute: world.reroute, enableSecondaryDataChannel: world.secondaryChannel };
      const obs = observe(world, probeTargets(config, state), switchesCache);
      const { decision, state: next } = decide({ obs, state, pin: null, config, now, hostId: config.local.manageIp });
      state = next;
      report.passes++;
      let switchOk = true;
      if (decision.change) {
        switchOk = !world.routeChangeFails;
        const from = world.route.join(',');
        if (switchOk) world.route = [decision.nextHop];
        report.switches.push({ atSec: t, from, to: decision.nextHop, reason: decision.reason, because: decision.because, ok: switchOk });
        const switched = switchOk ? { ok: true, to: decision.target } : { ok: false, to: decision.target, error: 'scripted failure' };
        state = applyOutcome(state, { switched }, now);
      }
      if (decision.refresh && switchOk) {
        const { target, sessionId } = decision.refresh;
        const refreshed = world.api ? { ok: true as const, target, sessionId } : { ok: false as const, target, error: 'API unreachable' };
        state = applyOutcome(state, { refreshed }, now);
      }
    }
    if (pathDead(world, world.route[0])) report.deadPathSec++;
    if (world.route[0] !== localIp) report.reroutedSec++;
    report.routeBySec.push(world.route.join(','));
  }
  report.finalState = state;
  return report;
}
