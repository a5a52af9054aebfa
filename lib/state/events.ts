// The agent's events (issue 30), defined once: what an operator is told through syslog, the notify hook and the
// metrics, and what the event store on the RAM disk keeps. Pure: the schema, the store's format, what a pass's facts
// mean as events, and an event as KEY=value fields. I/O is event-store.ts; delivery is lib/act (syslog, hook).
//
// An event is noted once, where it happens: a switch when it took effect, the rest from a change between what the
// store last noted (`conditions`) and what a pass saw. The store is read and written under the pass lock, so the next
// minute's runner starts from what the last one noted and tells nothing twice.
import { z } from 'zod';
import { isIPv4 } from '../net/ipv4';
import type { LocalStatus, ReasonCode } from '../decide/state';

export const EVENTS_VERSION = 1;

const ip = () => z.string().refine(isIPv4);
const text = () => z.string().max(600);
const base = {
  /** this store's count: ordering and "told already" (tells nothing twice across the runners' hand-over) */
  seq: z.number().int().min(1),
  /** wall-clock ms, for people (the agent's own waits run on agent time) */
  at: z.number(),
};

/** Every kind of event, with its fields. */
export const eventSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('switch'), from: z.string(), to: z.string(), reason: z.string(), because: text(), ok: z.boolean(), error: text().optional() }),
  z.object({ ...base, kind: z.literal('pin-set'), target: ip(), until: z.number().nullable(), force: z.boolean(), who: z.string() }),
  z.object({ ...base, kind: z.literal('pin-cleared'), target: ip(), who: z.string(), why: text() }),
  z.object({ ...base, kind: z.literal('no-healthy-target'), kept: z.string(), because: text() }),
  z.object({ ...base, kind: z.literal('healthy-target'), target: z.string() }),
  z.object({ ...base, kind: z.literal('local-down'), ip: ip(), status: z.string() }),
  z.object({ ...base, kind: z.literal('local-up'), ip: ip(), downSec: z.number().nullable() }),
  z.object({ ...base, kind: z.literal('api-down'), why: text() }),
  z.object({ ...base, kind: z.literal('api-up'), from: z.string() }),
  z.object({ ...base, kind: z.literal('runner-restarted'), after: text() }),
  z.object({ ...base, kind: z.literal('config-rejected'), file: z.string(), error: text(), kept: z.string() }),
  /** per SCVM: an ICMP verdict or a session's liveness changed (kept apart, bounded on its own: there are many) */
  z.object({ ...base, kind: z.literal('scvm'), ip: ip(), check: z.enum(['icmp', 'session']), was: z.string(), now: z.string() }),
]);
export type AgentEvent = z.output<typeof eventSchema>;
export type EventKind = AgentEvent['kind'];
/** An event before the store numbers it. */
export type NewEvent = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'seq'> : never) : never;

/** Kinds kept on the persistent disk too (rare, and what a postmortem after a reboot needs). */
export const LASTING_KINDS: readonly EventKind[] = ['switch', 'pin-set', 'pin-cleared'];

/** How an event goes to syslog (busybox and util-linux `logger -p`). */
export function priorityOf(e: Pick<AgentEvent, 'kind'> & Partial<{ ok: boolean }>): string {
  switch (e.kind) {
    case 'no-healthy-target':
    case 'config-rejected':
      return 'daemon.err';
    case 'switch':
    case 'local-down':
    case 'api-down':
    case 'runner-restarted':
      return e.ok === false ? 'daemon.err' : 'daemon.warning';
    case 'scvm':
      return 'daemon.info';
    default:
      return 'daemon.notice';
  }
}

const scvmCheck = z.object({ icmp: z.enum(['up', 'down']).optional(), session: z.enum(['alive', 'dead', 'missing']).optional() });

/** What the store last noted, so that an event is told on a change only. null: not known since the store began. */
export const conditionsSchema = z.object({
  localDown: z.boolean().nullable(),
  /** the local SCVM went down at (wall ms) */
  localDownAt: z.number().nullable(),
  apiOk: z.boolean().nullable(),
  /** asks for the session list failed in a row (API down is told at API_DOWN_AFTER) */
  apiFailed: z.number().int().min(0),
  noTarget: z.boolean().nullable(),
  /** wall ms since the route has been off the local SCVM; null when on it */
  reroutedSince: z.number().nullable(),
  scvm: z.record(scvmCheck),
});
export type Conditions = z.output<typeof conditionsSchema>;

/** The event store on the RAM disk (`events.json` beside the record). */
export const storeSchema = z.object({
  version: z.literal(EVENTS_VERSION),
  /** names this store: a store made afresh (a reboot, a corrupt file) starts its seq again, and is told from its start */
  epoch: z.string().min(1).max(32),
  seq: z.number().int().min(0),
  /** the last events, oldest first, but per-SCVM ones */
  events: z.array(eventSchema),
  /** the last per-SCVM events */
  scvm: z.array(eventSchema),
  conditions: conditionsSchema,
  counters: z.object({
    /** successful switches by reason */
    switches: z.record(z.number().int().min(0)),
    switchFailures: z.number().int().min(0),
    runnerRestarts: z.number().int().min(0),
  }),
});
export type EventStore = z.output<typeof storeSchema>;

/** How far each channel has started delivering a store's events (`events.sent` beside it; the delivering process's). */
export const sentSchema = z.object({
  epoch: z.string(),
  syslog: z.object({ seq: z.number().int().min(0), failed: z.number().int().min(0), dropped: z.number().int().min(0) }),
  hook: z.object({ seq: z.number().int().min(0), failed: z.number().int().min(0), dropped: z.number().int().min(0) }),
});
export type Sent = z.output<typeof sentSchema>;
export type Channel = 'syslog' | 'hook';

/** Asks for the session list that must fail in a row before the API is told down (one lost answer is no outage). */
export const API_DOWN_AFTER = 2;

export function emptyStore(epoch: string): EventStore {
  return {
    version: EVENTS_VERSION,
    epoch,
    seq: 0,
    events: [],
    scvm: [],
    conditions: { localDown: null, localDownAt: null, apiOk: null, apiFailed: 0, noTarget: null, reroutedSince: null, scvm: {} },
    counters: { switches: {}, switchFailures: 0, runnerRestarts: 0 },
  };
}

export function emptySent(epoch: string): Sent {
  return { epoch, syslog: { seq: 0, failed: 0, dropped: 0 }, hook: { seq: 0, failed: 0, dropped: 0 } };
}

/** The store's text -> the store, or null when it is none of this version's (the caller starts afresh). */
export function parseStore(text: string | null): EventStore | null {
  try {
    const r = storeSchema.safeParse(JSON.parse(text ?? ''));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** events.sent's text -> how far `epoch`'s store was delivered; a missing, damaged or other store's file: from its start. */
export function parseSent(text: string | null, epoch: string): Sent {
  try {
    const r = sentSchema.safeParse(JSON.parse(text ?? ''));
    if (r.success && r.data.epoch === epoch) return r.data;
  } catch {
    // from the start
  }
  return emptySent(epoch);
}

/** The persistent file's events (switches and pins), oldest first; [] when it holds none of this version's. */
export function parseLasting(text: string | null): AgentEvent[] {
  try {
    const raw = JSON.parse(text ?? '') as { version?: unknown; events?: unknown };
    if (raw.version !== EVENTS_VERSION || !Array.isArray(raw.events)) return [];
    return raw.events.flatMap((e) => {
      const r = eventSchema.safeParse(e);
      return r.success ? [r.data] : [];
    });
  } catch {
    return [];
  }
}

export interface StoreBounds {
  /** events kept, per-SCVM ones aside */
  keep: number;
  /** per-SCVM events kept */
  keepScvm: number;
}

/** Number the new events, keep them within bounds and count what the metrics count. Returns the store and them. */
export function append(store: EventStore, events: NewEvent[], bounds: StoreBounds): { store: EventStore; added: AgentEvent[] } {
  let seq = store.seq;
  const added = events.map((e) => ({ ...e, seq: ++seq }) as AgentEvent);
  const counters = { ...store.counters, switches: { ...store.counters.switches } };
  for (const e of added) {
    if (e.kind === 'switch') {
      if (e.ok) counters.switches[e.reason] = (counters.switches[e.reason] ?? 0) + 1;
      else counters.switchFailures++;
    }
    if (e.kind === 'runner-restarted') counters.runnerRestarts++;
  }
  const main = [...store.events, ...added.filter((e) => e.kind !== 'scvm')].slice(-bounds.keep);
  const scvm = [...store.scvm, ...added.filter((e) => e.kind === 'scvm')].slice(-bounds.keepScvm);
  return { store: { ...store, seq, events: main, scvm, counters }, added };
}

/** Every event the store holds, by seq. */
export function allEvents(store: EventStore): AgentEvent[] {
  return [...store.events, ...store.scvm].sort((a, b) => a.seq - b.seq);
}

// ---- a pass's facts as events (pure) ----

/** What a pass saw and did, as far as events go. */
export interface PassFacts {
  /** wall ms */
  at: number;
  localIp: string;
  /** the route's target after the pass (engine.target), null when unknown */
  target: string | null;
  decision: { reason: ReasonCode; because: string; target: string; local: LocalStatus; pinTargetFailing?: { cleared?: boolean } | null };
  /** a switch this pass tried and that failed (a successful one is told as it happens: switchEvent) */
  switchFailed?: { from: string; to: string; error: string };
  /** the local SCVM judged down after this pass (engine.local.down) */
  localDown: boolean;
  pinBefore: { target: string; until: number | null; force?: boolean } | null;
  pinAfter: { target: string; until: number | null; force?: boolean } | null;
  /** the pin changed by an operator's command (`route`), not by the engine */
  byOperator: boolean;
  /** agent time of this pass, to tell a pin's end as wall time */
  agentNow: number;
  /** a session list asked for this pass: its answer; null when none was asked (reused, or not waited for) */
  list: { ok: true; from: string; sessions: { dataIp: string; alive: boolean }[] } | { ok: false; why: string } | null;
  /** ICMP verdicts this pass, by IP (only targets judged: up or down) */
  icmp: Record<string, 'up' | 'down'>;
}

/** The successful switch's event. */
export function switchEvent(at: number, d: { from: string[]; target: string; reason: string; because: string }): NewEvent {
  return { at, kind: 'switch', from: d.from.join(',') || 'none', to: d.target, reason: d.reason, because: d.because.slice(0, 600), ok: true };
}

const wallOf = (f: PassFacts, agentMs: number | null) => (agentMs === null ? null : f.at + (agentMs - f.agentNow));

/** The events a pass's facts make against what was last noted, and the conditions to note now. */
export function eventsOfPass(was: Conditions, f: PassFacts): { events: NewEvent[]; conditions: Conditions } {
  const events: NewEvent[] = [];
  const at = f.at;
  const c: Conditions = { ...was, scvm: { ...was.scvm } };
  if (f.switchFailed) events.push({ at, kind: 'switch', ...f.switchFailed, reason: f.decision.reason, because: f.decision.because.slice(0, 600), ok: false });

  // the pin: set, moved or cleared, by whom
  const pb = f.pinBefore;
  const pa = f.pinAfter;
  if (pb && (!pa || pa.target !== pb.target)) {
    const why = f.byOperator
      ? 'route --auto or a new pin'
      : f.decision.pinTargetFailing?.cleared
        ? 'its target failed past decide.pinGraceSec'
        : 'expired';
    events.push({ at, kind: 'pin-cleared', target: pb.target, who: f.byOperator ? 'operator' : 'agent', why });
  }
  if (pa && (!pb || pa.target !== pb.target || pa.until !== pb.until || (pa.force ?? false) !== (pb.force ?? false))) {
    events.push({ at, kind: 'pin-set', target: pa.target, until: wallOf(f, pa.until), force: pa.force ?? false, who: f.byOperator ? 'operator' : 'agent' });
  }

  // the local SCVM
  if (f.localDown && was.localDown !== true) {
    events.push({ at, kind: 'local-down', ip: f.localIp, status: f.decision.local });
    c.localDownAt = at;
  } else if (!f.localDown && was.localDown === true) {
    events.push({ at, kind: 'local-up', ip: f.localIp, downSec: was.localDownAt === null ? null : Math.round((at - was.localDownAt) / 1000) });
    c.localDownAt = null;
  }
  c.localDown = f.localDown;

  // a healthy target
  const noTarget = f.decision.reason === 'no-healthy-target';
  if (noTarget && was.noTarget !== true) events.push({ at, kind: 'no-healthy-target', kept: f.target ?? 'none', because: f.decision.because.slice(0, 600) });
  else if (!noTarget && was.noTarget === true) events.push({ at, kind: 'healthy-target', target: f.decision.target });
  c.noTarget = noTarget;

  // the API, judged by the asks for the session list
  if (f.list) {
    if (f.list.ok) {
      if (was.apiOk === false) events.push({ at, kind: 'api-up', from: f.list.from });
      c.apiOk = true;
      c.apiFailed = 0;
    } else {
      c.apiFailed = was.apiFailed + 1;
      if (c.apiFailed >= API_DOWN_AFTER && was.apiOk !== false) {
        events.push({ at, kind: 'api-down', why: f.list.why.slice(0, 600) });
        c.apiOk = false;
      }
    }
  }

  // rerouted: the route off the local SCVM
  const rerouted = f.target !== null && f.target !== f.localIp;
  c.reroutedSince = rerouted ? (was.reroutedSince ?? at) : null;

  // per SCVM: a verdict or a session that changed; a first sighting is told only when it is bad
  const bad = (v: string) => v === 'down' || v === 'dead' || v === 'missing';
  const note = (ipAddr: string, check: 'icmp' | 'session', now: string) => {
    const prev = c.scvm[ipAddr]?.[check];
    if (prev === now) return;
    if (prev !== undefined || bad(now)) events.push({ at, kind: 'scvm', ip: ipAddr, check, was: prev ?? 'unknown', now });
    c.scvm[ipAddr] = { ...c.scvm[ipAddr], [check]: now };
  };
  for (const [addr, v] of Object.entries(f.icmp)) note(addr, 'icmp', v);
  if (f.list?.ok) {
    const seen = new Map(f.list.sessions.map((s) => [s.dataIp, s.alive]));
    for (const [addr, alive] of seen) note(addr, 'session', alive ? 'alive' : 'dead');
    for (const [addr, checks] of Object.entries(c.scvm)) if (checks.session !== undefined && !seen.has(addr)) note(addr, 'session', 'missing');
  }
  return { events, conditions: c };
}

// ---- an event as fields (syslog's key=value line, the hook's environment) ----

/** The event's fields in a stable order: event, seq, at (ISO), then its own. Values as text; absent ones left out. */
export function eventFields(e: AgentEvent, host: string): [string, string][] {
  const { kind, seq, at, ...rest } = e;
  const out: [string, string][] = [
    ['event', kind],
    ['seq', String(seq)],
    ['at', new Date(at).toISOString()],
    ['host', host],
  ];
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    if ((k === 'until') && typeof v === 'number') out.push([k, new Date(v).toISOString()]);
    else out.push([k, v === null ? 'none' : String(v)]);
  }
  return out;
}
