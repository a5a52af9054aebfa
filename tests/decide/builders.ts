// Builders for engine inputs: a lab cluster of three SCVMs, everything healthy unless a test says otherwise.
import type { Config } from '../../lib/config/schema';
import { validateConfig } from '../../lib/config/validate';
import { decide, type DecideInput } from '../../lib/decide/decide';
import { initialEngineState, type EngineState } from '../../lib/decide/state';
import type { ClusterSwitches, NfsCheck, Observations, Pin, ProbeResult, ZbsSession } from '../../lib/types';

export const LOCAL = '10.10.85.15';
export const R16 = '10.10.85.16';
export const R17 = '10.10.85.17';
export const M15 = '192.168.85.15';
export const M16 = '192.168.85.16';
export const M17 = '192.168.85.17';
export const T0 = Date.UTC(2024, 0, 1);

/** A valid config for the lab cluster, with overrides merged at the top level. */
export function config(over: Record<string, unknown> = {}): Config {
  const r = validateConfig({
    local: { dataIp: LOCAL, manageIp: M15 },
    scvms: [
      { dataIp: R16, manageIp: M16 },
      { dataIp: R17, manageIp: M17 },
    ],
    ...over,
  }, 'esxi');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

export function probe(ip: string, up: boolean): ProbeResult {
  return up
    ? { ip, sent: 10, received: 10, lossPct: 0, rttMinMs: 0.1, rttAvgMs: 0.2, rttMaxMs: 0.3, reachable: true }
    : { ip, sent: 10, received: 0, lossPct: 100, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, reachable: false };
}

export function session(dataIp: string, alive = true, manageIp: string | null = null, zone: string | null = null): ZbsSession {
  const m = manageIp ?? dataIp.replace('10.10.85.', '192.168.85.');
  return { sessionId: `s-${dataIp.split('.')[3]}`, dataIp, manageIp: m, zone, alive, aliveSec: alive ? 8 : 0 };
}

/** Per-IP ping verdicts; every lab data IP answers unless listed as false. */
export interface ObsSpec {
  up?: Record<string, boolean>;
  sessions?: ZbsSession[] | 'api-down';
  /** the manage IP the session list came from; default M16 */
  listFrom?: string;
  switches?: ClusterSwitches | null;
  route?: string[] | 'unreadable';
  /** the NFS data-path check of the pass: true ok, false failed (no answer), or a whole result; default: off */
  nfs?: boolean | NfsCheck;
}

/** The data-path check as a pass reports it. */
export function nfsCheck(spec: ObsSpec['nfs']): NfsCheck {
  if (spec === undefined) return { result: 'unknown', why: 'the NFS data-path check is off (nfsCheck.enabled)', skipped: true };
  if (typeof spec !== 'boolean') return spec;
  return spec ? { result: 'ok', ms: 1 } : { result: 'failed', why: 'no answer from 192.168.33.2:2049 within 2000 ms' };
}

export function obs(spec: ObsSpec = {}): Observations {
  const up: Record<string, boolean> = { [LOCAL]: true, [R16]: true, [R17]: true, ...spec.up };
  const probes: Record<string, ProbeResult> = {};
  for (const [ip, ok] of Object.entries(up)) probes[ip] = probe(ip, ok);
  const list = spec.sessions ?? [session(LOCAL), session(R16), session(R17)];
  return {
    probes,
    sessions: list === 'api-down' ? { ok: false, reason: 'connect ETIMEDOUT' } : { ok: true, sessions: list, from: spec.listFrom ?? M16 },
    switches: spec.switches === undefined ? { enableReroute: true, enableSecondaryDataChannel: false } : spec.switches,
    route: spec.route === 'unreadable' ? { ok: false, reason: 'esxcfg-route timed out' } : { ok: true, nextHops: spec.route ?? [LOCAL] },
    nfs: nfsCheck(spec.nfs),
  };
}

export function input(over: Partial<DecideInput> & { spec?: ObsSpec } = {}): DecideInput {
  const { spec, ...rest } = over;
  return {
    obs: obs(spec),
    state: initialEngineState(),
    pin: null as Pin | null,
    config: config(),
    now: T0,
    hostId: '192.168.85.11',
    ...rest,
  };
}

/** Run several passes, `stepSec` apart, threading the state; returns the last result and the state. */
export function passes(specs: ObsSpec[], opts: { state?: EngineState; cfg?: Config; start?: number; stepSec?: number } = {}) {
  let state = opts.state ?? initialEngineState();
  const results = [];
  let now = opts.start ?? T0;
  for (const spec of specs) {
    const r = decide(input({ obs: obs(spec), state, now, config: opts.cfg ?? config() }));
    results.push(r.decision);
    state = r.state;
    now += (opts.stepSec ?? 5) * 1000;
  }
  return { results, state, now };
}

/** An engine state with parts replaced. */
export function engineState(over: Partial<EngineState> = {}): EngineState {
  return { ...initialEngineState(), ...over };
}

/** The fields of a decision a table row is about. */
export function row(d: { row: number; reason: string; target: string; nextHop: string; change: boolean }) {
  return { row: d.row, reason: d.reason, target: d.target, nextHop: d.nextHop, change: d.change };
}
