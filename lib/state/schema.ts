// What the agent keeps between passes, and the two files it goes to. Pure: parsing and shaping only; I/O is store.ts.
//
//   state file (paths.state, on /scratch: survives a reboot; written only when something in it changes)
//     {version, clock, pin, engine (without its record), api: {token}}
//   record file (paths.record, on a RAM disk: written every pass; gone after a reboot)
//     {version, engine: <the engine's record>, switches, lastPass}
//
// Every time in both files is agent time (lib/runtime/clock.ts), never the wall clock.
import { z } from 'zod';
import { isIPv4 } from '../net/ipv4';
import { emptyRecord, engineRecordSchema, engineStateSchema, initialEngineState, type EngineState } from '../decide/state';
import { apiCacheSchema, initialApiCache, type ApiCache } from '../observe/zbs/cache';
import type { ClockAnchor } from '../runtime/clock';
import type { ZbsSession } from '../types';

export const STATE_VERSION = 2;

export const pinSchema = z.object({
  target: z.string().refine(isIPv4),
  /** agent time; null = until `route --auto` */
  until: z.number().nullable(),
  setAt: z.number(),
  /** set with --force: kept even while its target fails (with a warning); absent = not forced */
  force: z.boolean().optional(),
  /** who set it (SUDO_USER, else LOGNAME), from where (SSH_CLIENT's address), and why (--reason); absent before 0.x */
  by: z.string().max(64).nullable().optional(),
  from: z.string().max(64).nullable().optional(),
  reason: z.string().max(200).nullable().optional(),
});

export const lastPassSchema = z.object({
  at: z.number(),
  ok: z.boolean(),
  durationMs: z.number(),
  /** why it failed, one line */
  error: z.string().optional(),
  /** when it failed: the start of the last pass that went well (null: none known) */
  okAt: z.number().nullable().optional(),
});

export type LastPass = z.output<typeof lastPassSchema>;

/** A failed pass's entry, after `prev` (the last pass before it): the error's first line and the last good pass. */
export function failedPass(prev: LastPass | null, at: number, durationMs: number, error: string): LastPass {
  const line = error.split('\n')[0]!.slice(0, 300);
  return { at, ok: false, durationMs, error: line, okAt: prev === null ? null : prev.ok ? prev.at : (prev.okAt ?? null) };
}

const clockSchema = z.object({ boot: z.string().nullable(), mono: z.number(), agent: z.number() });

const lastListSchema = z.object({
  from: z.string(),
  sessions: z.array(
    z.object({
      sessionId: z.string(),
      dataIp: z.string().refine(isIPv4),
      manageIp: z.string().refine(isIPv4).nullable(),
      zone: z.string().nullable(),
      alive: z.boolean(),
      aliveSec: z.number().nullable(),
    }),
  ),
});

const heartbeatSchema = z.object({ at: z.number(), to: z.string(), ok: z.boolean() });
const listAskedSchema = z.object({
  at: z.number(),
  ok: z.boolean(),
  /** while asks fail: since when they have (the first failed ask), and the last one's reason (for status) */
  failingSince: z.number().optional(),
  error: z.string().max(500).optional(),
});

/** Everything a pass works with. */
export interface State {
  pin: z.output<typeof pinSchema> | null;
  engine: EngineState;
  api: ApiCache;
  lastPass: LastPass | null;
  /** agent time of the last "steady" log line (a pass that changed nothing is logged only every log.steadyEverySec) */
  steadyLoggedAt: number | null;
  /** the last fresh session list, reused by passes that do not ask (api.sessionsEverySec) */
  lastList: { from: string; sessions: ZbsSession[] } | null;
  /** the last time this host asked for the session list, and whether it got one (api.sessionsEverySec) */
  listAsked: z.output<typeof listAskedSchema> | null;
  /** the last heartbeat sent: when, the target it named, whether it got through (api.heartbeatEverySec) */
  heartbeat: { at: number; to: string; ok: boolean } | null;
}

/** A first run's state. */
export function initialState(): State {
  return {
    pin: null,
    engine: initialEngineState(),
    api: initialApiCache(),
    lastPass: null,
    steadyLoggedAt: null,
    lastList: null,
    listAsked: null,
    heartbeat: null,
  };
}

/** The text of the state file for `state`, without its clock: two passes that changed nothing give the same text. */
export function lastingText(state: State): string {
  const { record: _record, ...engine } = state.engine;
  return JSON.stringify({ pin: state.pin, engine, api: { token: state.api.token } });
}

/** The state file's text: the lasting part and the clock anchor it was written at. */
export function stateFileText(state: State, clock: ClockAnchor): string {
  const lasting = JSON.parse(lastingText(state)) as Record<string, unknown>;
  return JSON.stringify({ version: STATE_VERSION, clock, ...lasting }) + '\n';
}

/** The record file's text. */
export function recordFileText(state: State): string {
  return JSON.stringify({
    version: STATE_VERSION,
    engine: state.engine.record,
    switches: state.api.switches,
    lastPass: state.lastPass,
    steadyLoggedAt: state.steadyLoggedAt,
    lastList: state.lastList,
    listAsked: state.listAsked,
    heartbeat: state.heartbeat,
  }) + '\n';
}

export type StateFileParse =
  | {
      ok: true;
      /** what was understood; parts not understood are fresh */
      lasting: Pick<State, 'pin' | 'api'> & { engine: EngineState };
      clock: ClockAnchor | null;
      /** parts that were invalid and start fresh */
      reset: string[];
      /** the file was written by a newer agent: read what is understood, never write it */
      newer: number | null;
    }
  | { ok: false; problem: string };

/** One part of a file: its value when it is what this version expects, else null (the caller starts it fresh). */
function part<S extends z.ZodTypeAny>(schema: S, value: unknown): z.output<S> | null {
  const r = schema.safeParse(value);
  return r.success ? r.data : null;
}

/**
 * Pure: the state file's JSON -> what it holds. A file that is no state at all is a problem (the caller moves it
 * aside). A bad part is reset on its own, so the pin and the rest survive. A newer version is read as far as it is
 * understood. Version 1 (one file, wall-clock times) is taken over: its times become agent time as they are.
 */
export function parseStateFile(raw: unknown): StateFileParse {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problem: 'not a JSON object' };
  const r = raw as Record<string, unknown>;
  if (typeof r.version !== 'number' || !Number.isInteger(r.version) || r.version < 1) {
    return { ok: false, problem: `no state version (found ${JSON.stringify(r.version)})` };
  }
  const reset: string[] = [];
  const pin = 'pin' in r && r.pin !== null ? part(pinSchema, r.pin) : null;
  if (pin === null && r.pin !== null && r.pin !== undefined) reset.push('pin');
  const token = part(apiCacheSchema, r.api)?.token ?? null;
  const engineRaw = r.version === 1 ? fromVersion1(r.engine) : { ...(r.engine as object), record: emptyRecord() };
  let engine = part(engineStateSchema, engineRaw);
  if (engine === null) {
    reset.push('engine');
    engine = initialEngineState();
  }
  return {
    ok: true,
    lasting: { pin, engine, api: { ...initialApiCache(), token } },
    clock: part(clockSchema, r.clock),
    reset,
    newer: r.version > STATE_VERSION ? r.version : null,
  };
}

/** A version-1 engine slice in the version-2 shape (its record is dropped: it is only a record). */
function fromVersion1(engine: unknown): unknown {
  if (typeof engine !== 'object' || engine === null) return engine;
  const e = engine as Record<string, unknown> & { sessions?: { at?: unknown; known?: unknown[] }; refreshPending?: unknown };
  const { journal: _j, warnedAt: _w, refreshPending, ...rest } = e;
  return {
    ...rest,
    v: 2,
    sessions: { everSeen: e.sessions?.at !== null && e.sessions?.at !== undefined, known: e.sessions?.known ?? [] },
    // a refresh pending in version 1 is owed now: none is recorded as done, unless the route is on the local SCVM
    refreshed: refreshPending === null && typeof rest.target === 'string' ? { target: rest.target, sessionId: '', at: 0 } : null,
    record: emptyRecord(),
  };
}

/** Pure: the record file's JSON -> the record, the switches and the last pass; null parts when not understood. */
export function parseRecordFile(raw: unknown): {
  record: EngineState['record'] | null;
  switches: ApiCache['switches'];
  lastPass: State['lastPass'];
  steadyLoggedAt: number | null;
  lastList: State['lastList'];
  listAsked: State['listAsked'];
  heartbeat: State['heartbeat'];
  newer: number | null;
} {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const version = typeof r.version === 'number' ? r.version : 0;
  return {
    record: part(engineRecordSchema, r.engine),
    switches: part(apiCacheSchema, { switches: r.switches })?.switches ?? null,
    lastPass: part(lastPassSchema, r.lastPass),
    steadyLoggedAt: typeof r.steadyLoggedAt === 'number' ? r.steadyLoggedAt : null,
    lastList: part(lastListSchema, r.lastList),
    listAsked: part(listAskedSchema, r.listAsked),
    heartbeat: part(heartbeatSchema, r.heartbeat),
    newer: version > STATE_VERSION ? version : null,
  };
}
