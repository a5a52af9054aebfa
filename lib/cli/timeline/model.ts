// What the timeline picture shows, derived from the agent's events (lib/state/events.ts): each SCVM's ICMP verdict
// and session state as segments, the route's target as a band, the API as up/down, the switches and pins as marks.
// Pure: events and what is known now in, plain data out; svg.ts draws it.
import type { AgentEvent } from '../../state/events';

export type Check = 'icmp' | 'session';

/** A stretch of time in one state. `state`: up/down, alive/dead/missing, a route target, or 'unknown'. */
export interface Segment {
  from: number;
  to: number;
  state: string;
}

export interface Lane {
  ip: string;
  local: boolean;
  icmp: Segment[];
  session: Segment[];
}

/** A switch or a pin: a line across the picture with its label. */
export type Mark = Extract<AgentEvent, { kind: 'switch' | 'pin-set' | 'pin-cleared' }>;
/** The other events: small ticks with their fields on hover. */
export type Tick = Exclude<AgentEvent, { kind: 'switch' | 'pin-set' | 'pin-cleared' | 'scvm' }>;

/** How the axis reads: local clock time, or seconds from the start (a simulated run). */
export type Axis = { kind: 'clock'; utcOffsetMin: number } | { kind: 'elapsed'; zero: number };

/** What is known at the end of the window (the event store's `conditions` and the state's target). */
export interface Now {
  scvm: Record<string, { icmp?: string; session?: string }>;
  target: string | null;
  apiOk: boolean | null;
}

export interface TimelineInput {
  title: string;
  /** the window, wall ms */
  from: number;
  to: number;
  localIp: string;
  /** the SCVMs' data IPs, the local one among them */
  scvms: string[];
  /** every event known, any order, duplicates (the RAM store and the persistent file) allowed */
  events: AgentEvent[];
  /** false: no per-SCVM events could be read (the RAM store is gone): no lanes, and `notes` says why */
  lanes: boolean;
  now: Now | null;
  axis: Axis;
  /** lines said under the picture (where the events came from, what is missing) */
  notes: string[];
}

export interface TimelineModel {
  title: string;
  from: number;
  to: number;
  axis: Axis;
  lanes: Lane[] | null;
  route: Segment[];
  api: Segment[];
  marks: Mark[];
  ticks: Tick[];
  localIp: string;
  notes: string[];
}

/** One list, each event once (the persistent copy of a switch is the RAM store's too), in time order. */
function merged(events: AgentEvent[]): AgentEvent[] {
  const seen = new Set<string>();
  const out: AgentEvent[] = [];
  for (const e of events) {
    const key = JSON.stringify(e);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.sort((a, b) => a.at - b.at || a.seq - b.seq);
}

/**
 * Segments over [from, to] of a state that changes at `changes` (in time order, each with what it was and is now);
 * before the first change the state is what that one says it was, with none it is `end`.
 */
export function segments(from: number, to: number, changes: { at: number; was: string; now: string }[], end: string): Segment[] {
  const before = changes.filter((c) => c.at <= from).at(-1);
  const inside = changes.filter((c) => c.at > from && c.at <= to);
  let state = before?.now ?? inside[0]?.was ?? end;
  let at = from;
  const out: Segment[] = [];
  for (const c of inside) {
    if (c.now === state) continue;
    if (c.at > at) out.push({ from: at, to: c.at, state });
    state = c.now;
    at = c.at;
  }
  out.push({ from: at, to, state });
  // changes at one instant leave no segment of their own: a state then may meet the same state before it
  return out.reduce<Segment[]>((m, seg) => {
    const prev = m.at(-1);
    if (prev && prev.state === seg.state) prev.to = seg.to;
    else m.push(seg);
    return m;
  }, []);
}

const firstHop = (hops: string) => hops.split(',')[0] || 'none';

/** The picture's content from the events. */
export function buildModel(input: TimelineInput): TimelineModel {
  const { from, to } = input;
  const events = merged(input.events);
  const lanes = input.lanes
    ? input.scvms.map((ip): Lane => {
        const of = (check: Check) =>
          segments(
            from,
            to,
            events.flatMap((e) => (e.kind === 'scvm' && e.ip === ip && e.check === check ? [e] : [])),
            input.now?.scvm[ip]?.[check] ?? 'unknown',
          );
        return { ip, local: ip === input.localIp, icmp: of('icmp'), session: of('session') };
      })
    : null;
  const switches = events.flatMap((e) => (e.kind === 'switch' && e.ok ? [e] : []));
  const route = segments(
    from,
    to,
    switches.map((s) => ({ at: s.at, was: firstHop(s.from), now: s.to })),
    input.now?.target ?? 'unknown',
  );
  const apiChanges = events.flatMap((e) =>
    e.kind === 'api-down' ? [{ at: e.at, was: 'up', now: 'down' }] : e.kind === 'api-up' ? [{ at: e.at, was: 'down', now: 'up' }] : [],
  );
  const apiNow = input.now?.apiOk === true ? 'up' : input.now?.apiOk === false ? 'down' : 'unknown';
  const inWindow = (e: AgentEvent) => e.at >= from && e.at <= to;
  return {
    title: input.title,
    from,
    to,
    axis: input.axis,
    lanes,
    route,
    api: segments(from, to, apiChanges, apiNow),
    marks: events.filter((e): e is Mark => inWindow(e) && (e.kind === 'switch' || e.kind === 'pin-set' || e.kind === 'pin-cleared')),
    ticks: events.filter((e): e is Tick => inWindow(e) && e.kind !== 'switch' && e.kind !== 'pin-set' && e.kind !== 'pin-cleared' && e.kind !== 'scvm'),
    localIp: input.localIp,
    notes: input.notes,
  };
}
