// Replay a timeline through the real engine with a virtual clock: observe (from the scripted world) -> decide ->
// act (instant, or failing when scripted) -> record. Pure: the same timeline gives the same report.
import type { Config } from '../config/schema';
import type { ClusterSwitches, NfsCheck, Observations, Pin, ProbeResult, ZbsSession } from '../types';
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
  /** its NFS service accepts connections */
  nfs: boolean;
  /** its session lists lack the local SCVM's session */
  partialList: boolean;
}

interface World {
  scvms: Map<string, ScvmWorld>;
  api: boolean;
  /** data IP of the SCVM whose API answers the session list; null: the first whose management IP answers ping */
  listFrom: string | null;
  reroute: boolean;
  secondaryChannel: boolean;
  routeChangeFails: boolean;
  /** the operator's pin, as `reroute route` leaves it in the state file */
  pin: Pin | null;
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
  /** the local SCVM's healthy streak and the stable period it needed at that pass, s */
  localHealthySec: number | null;
  requiredStableSec: number;
}

/** The operator's pin: `set`, `refused`, `removed` (route --auto) or `cleared` (by the agent); `target` unless none was. */
export interface SimPin {
  atSec: number;
  text: string;
  kind: 'set' | 'refused' | 'removed' | 'cleared';
  target?: string;
  force?: boolean;
  untilSec?: number;
  /** cleared: why the agent cleared it */
  why?: string;
}

/** A scripted fact at second 0 (was: null) or changed: an SCVM's ping or session (by data IP), or the API (ip null). */
export interface SimFact {
  atSec: number;
  ip: string | null;
  check: 'icmp' | 'session' | 'api';
  was: string | null;
  now: string;
}

/** What a replay produced. */
export interface SimReport {
  name: string;
  durationSec: number;
  passes: number;
  switches: SimSwitch[];
  /** seconds the route pointed at a target that did not answer ping, had no live session or no NFS */
  deadPathSec: number;
  /** seconds the route pointed anywhere but the local SCVM */
  reroutedSec: number;
  /** changes of scripted facts (each SCVM's ping, session, management ping, NFS; API; cluster switches; operator pin) */
  healthChanges: number;
  /** what happened to the operator's pin: set, refused (as `reroute route` refuses it), removed, cleared by the agent */
  pins: SimPin[];
  /** each SCVM's ping and session, and the API, at second 0 and at every change after (what the timeline draws) */
  facts: SimFact[];
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
    if (s.nfs !== undefined) w.nfs = s.nfs;
    if (s.partialList !== undefined) w.partialList = s.partialList;
  };
  if (set.local) edit(localIp, set.local);
  for (const [ip, s] of Object.entries(set.scvms ?? {})) edit(ip, s);
  if (set.api !== undefined) world.api = set.api;
  if (set.listFrom !== undefined) world.listFrom = set.listFrom;
  if (set.reroute !== undefined) world.reroute = set.reroute;
  if (set.secondaryChannel !== undefined) world.secondaryChannel = set.secondaryChannel;
  if (set.routeChangeFails !== undefined) world.routeChangeFails = set.routeChangeFails;
}

/**
 * The operator runs `reroute route`: --auto (null) removes the pin; --target pins, refused as the command refuses it
 * (an address that is no SCVM's, or that does not answer ping) unless forced. Returns what happened, in words.
 */
function operatorPin(world: World, p: NonNullable<WorldSet['pin']> | null, now: number): Omit<SimPin, 'atSec'> {
  if (p === null) {
    const was = world.pin;
    world.pin = null;
    return was
      ? { kind: 'removed', target: was.target, text: `route --auto: pin to ${was.target} removed` }
      : { kind: 'removed', text: 'route --auto: no pin was set' };
  }
  if (!p.force) {
    const scvm = [...world.scvms.values()].find((s) => s.dataIp === p.target || s.manageIp === p.target);
    const answers = scvm !== undefined && (scvm.dataIp === p.target ? scvm.icmp : scvm.manageIcmp);
    if (!answers) {
      return { kind: 'refused', target: p.target, text: `route --target ${p.target}: refused (${scvm ? 'does not answer ICMP' : 'not a known SCVM address'})` };
    }
  }
  world.pin = { target: p.target, until: p.forSec === undefined ? null : now + p.forSec * 1000, setAt: now, force: p.force };
  const text = `route --target ${p.target}${p.force ? ' --force' : ''}${p.forSec === undefined ? '' : ` --for ${p.forSec}s`}: pinned`;
  return { kind: 'set', target: p.target, force: p.force, ...(p.forSec === undefined ? {} : { untilSec: (now - SIM_EPOCH_MS) / 1000 + p.forSec }), text };
}

/** Note each SCVM's ping and session and the API where they differ from `last` (all of them at second 0). */
function noteFacts(world: World, atSec: number, last: Map<string, string>, out: SimFact[]): void {
  const note = (ip: string | null, check: SimFact['check'], now: string) => {
    const key = `${ip}/${check}`;
    const was = last.get(key) ?? null;
    if (was === now) return;
    last.set(key, now);
    out.push({ atSec, ip, check, was, now });
  };
  for (const s of world.scvms.values()) {
    note(s.dataIp, 'icmp', s.icmp ? 'up' : 'down');
    note(s.dataIp, 'session', s.session);
  }
  note(null, 'api', world.api ? 'up' : 'down');
}

// Every scripted fact, one entry each: a change of any of them is one health change. The operator's pin counts while
// it is in force as set (setAt tells one pin from the next), so its end (--for) is a change too.
function healthFacts(world: World, operatorPin: Pin | null, now: number): unknown[] {
  const inForce = operatorPin && (operatorPin.until === null || operatorPin.until > now) ? operatorPin.setAt : null;
  const facts: unknown[] = [world.api, world.reroute, world.secondaryChannel, inForce];
  for (const s of world.scvms.values()) facts.push(s.icmp, s.session, s.manageIcmp, s.nfs);
  return facts;
}

function probe(ip: string, up: boolean): ProbeResult {
  return up
    ? { ip, sent: 10, received: 10, lossPct: 0, rttMinMs: 0.2, rttAvgMs: 0.3, rttMaxMs: 0.5, reachable: true }
    : { ip, sent: 10, received: 0, lossPct: 100, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, reachable: false };
}

/** The SCVM behind a route's next hop, and whether the hop is its management IP. */
function behind(world: World, hop: string | undefined): { s: ScvmWorld; manage: boolean } | null {
  for (const s of world.scvms.values()) {
    if (s.dataIp === hop) return { s, manage: false };
    if (s.manageIp === hop) return { s, manage: true };
  }
  return null;
}

/** The data-path check through the route: a connect answers when the hop answers and the SCVM's NFS is up. */
function nfsCheck(world: World, config: Config): NfsCheck {
  if (!config.nfsCheck.enabled) return { result: 'unknown', why: 'the NFS data-path check is off (nfsCheck.enabled)', skipped: true };
  const hop = world.route[0];
  if (hop === undefined) return { result: 'unknown', why: 'no route' };
  const b = behind(world, hop);
  const answers = b !== null && (b.manage ? b.s.manageIcmp : b.s.icmp) && b.s.nfs;
  return answers ? { result: 'ok', ms: 1 } : { result: 'failed', why: `no answer within ${config.nfsCheck.timeoutMs} ms` };
}

function observe(world: World, ips: string[], switches: ClusterSwitches | null, config: Config): Observations {
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
  const answering = (world.listFrom === null ? undefined : world.scvms.get(world.listFrom)) ?? all.find((s) => s.manageIcmp) ?? all[0]!;
  const from = answering.manageIp;
  const sessions: ZbsSession[] = all
    .filter((s) => s.session !== 'missing' && !(answering.partialList && s.dataIp === config.local.dataIp))
    .map((s) => ({
      sessionId: `sess-${s.dataIp.replace(/\./g, '-')}`,
      dataIp: s.dataIp,
      manageIp: s.manageIp,
      zone: s.zone,
      alive: s.session === 'alive',
      aliveSec: s.session === 'alive' ? 8 : 0,
    }));
  return {
    probes,
    sessions: world.api ? { ok: true, sessions, from } : { ok: false, reason: `HTTP to ${from} timed out` },
    switches,
    route: { ok: true, nextHops: [...world.route] },
    nfs: nfsCheck(world, config),
  };
}

function pathDead(world: World, hop: string | undefined): boolean {
  const b = behind(world, hop);
  if (b === null) return true;
  return !(b.manage ? b.s.manageIcmp : b.s.icmp) || b.s.session !== 'alive' || !b.s.nfs;
}

/** Replay `timeline` against `config` (which names the cluster), one engine pass every passEverySec. */
export function simulate(timeline: Timeline, config: Config): SimReport {
  const localIp = config.local.dataIp;
  const scvms = new Map<string, ScvmWorld>();
  for (const s of [config.local, ...config.scvms]) {
    if (scvms.has(s.dataIp)) continue;
    const zone = s.dataIp === localIp ? (config.local.zone ?? config.zone ?? null) : (s.zone ?? null);
    scvms.set(s.dataIp, { dataIp: s.dataIp, manageIp: s.manageIp, zone, icmp: true, session: 'alive', manageIcmp: true, nfs: true, partialList: false });
  }
  const world: World = {
    scvms,
    api: true,
    listFrom: null,
    reroute: true,
    secondaryChannel: false,
    routeChangeFails: false,
    pin: null,
    route: [localIp],
  };
  const pins: SimReport['pins'] = [];
  apply(world, timeline.start, localIp);
  if (timeline.start.pin !== undefined) pins.push({ atSec: 0, ...operatorPin(world, timeline.start.pin, SIM_EPOCH_MS) });
  const facts: SimFact[] = [];
  const lastFacts = new Map<string, string>();
  // The last pin the operator set (the engine may clear world.pin; that is no change of the scripted facts).
  let lastSet = world.pin;

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
    pins,
    facts,
    routeBySec: [],
    finalState: state,
  };
  let lastHealth = healthFacts(world, lastSet, SIM_EPOCH_MS);
  for (let t = 0; t < timeline.durationSec; t++) {
    for (const e of timeline.events) {
      const hit = e.every === undefined ? e.at === t : t >= e.at && t < e.until! && (t - e.at) % e.every === 0;
      if (!hit) continue;
      apply(world, e.set, localIp);
      if (e.set.pin === undefined) continue;
      pins.push({ atSec: t, ...operatorPin(world, e.set.pin, SIM_EPOCH_MS + t * 1000) });
      lastSet = world.pin;
    }
    noteFacts(world, t, lastFacts, facts);
    const h = healthFacts(world, lastSet, SIM_EPOCH_MS + t * 1000);
    report.healthChanges += h.filter((f, i) => f !== lastHealth[i]).length;
    lastHealth = h;

    if (t % timeline.passEverySec === 0) {
      const now = SIM_EPOCH_MS + t * 1000;
      if (world.api) switchesCache = { enableReroute: world.reroute, enableSecondaryDataChannel: world.secondaryChannel };
      const obs = observe(world, probeTargets(config, state), switchesCache, config);
      const { decision, state: next } = decide({ obs, state, pin: world.pin, config, now, hostId: config.local.manageIp });
      state = next;
      report.passes++;
      if (decision.clearPin && world.pin) {
        const why = decision.pinTargetFailing?.cleared ? 'its target failed past decide.pinGraceSec' : 'expired';
        pins.push({ atSec: t, kind: 'cleared', target: world.pin.target, why, text: `pin to ${world.pin.target} cleared by the agent: ${why === 'expired' ? 'it expired' : why}` });
        world.pin = null;
      }
      let switchOk = true;
      if (decision.change) {
        switchOk = !world.routeChangeFails;
        const from = world.route.join(',');
        if (switchOk) world.route = [decision.nextHop];
        report.switches.push({
          atSec: t,
          from,
          to: decision.nextHop,
          reason: decision.reason,
          because: decision.because,
          ok: switchOk,
          localHealthySec: decision.localHealthySec,
          requiredStableSec: decision.requiredStableSec,
        });
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
