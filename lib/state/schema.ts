// The state file: the only memory between passes. Everything that must not be lost (the pin, a pending session
// refresh, the flap history) lives here and nowhere else.
import { z } from 'zod';
import { isIPv4 } from '../net/ipv4';
import { engineStateSchema, initialEngineState, withoutRecord } from '../decide/state';
import { apiCacheSchema, initialApiCache } from '../observe/zbs/cache';
import type { SweepPlan } from '../observe/icmp/sweep-plan';

export const STATE_VERSION = 1;

export const pinSchema = z
  .object({
    target: z.string().refine(isIPv4),
    until: z.number().nullable(),
    setAt: z.number(),
    /** `route --force`; absent (as in state files written before it existed) = false */
    force: z.boolean().optional(),
  })
  .strict();

export const lastPassSchema = z.object({
  at: z.number(),
  ok: z.boolean(),
  durationMs: z.number(),
  error: z.string().optional(),
});

export const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  pin: pinSchema.nullable(),
  engine: z.unknown(),
  api: z.unknown(),
  lastPass: lastPassSchema.nullable(),
});

export interface State {
  version: typeof STATE_VERSION;
  pin: z.output<typeof pinSchema> | null;
  engine: z.output<typeof engineStateSchema>;
  api: z.output<typeof apiCacheSchema>;
  lastPass: z.output<typeof lastPassSchema> | null;
  /**
   * Written for the next pass's loader (lib/boot/early-sweep.ts), never read by a pass: parseState drops it, and the
   * pass compares the loader's sweep with its own plan.
   */
  sweep?: SweepPlan;
}

/** A first run's state. */
export function initialState(): State {
  return { version: STATE_VERSION, pin: null, engine: initialEngineState(), api: initialApiCache(), lastPass: null };
}

export type StateParse = { ok: true; state: State; resetSlices: string[] } | { ok: false; problem: string };

/**
 * Pure: a parsed JSON value -> State. A bad top level is a corrupt file; a bad slice (engine, api) is reset on its own
 * so that the pin and the rest survive.
 */
export function parseState(raw: unknown): StateParse {
  const top = stateSchema.safeParse(raw);
  if (!top.success) {
    const i = top.error.issues[0]!;
    return { ok: false, problem: `${i.path.join('.') || 'top level'}: ${i.message}` };
  }
  const resetSlices: string[] = [];
  const engine = engineStateSchema.safeParse(top.data.engine);
  if (!engine.success) resetSlices.push('engine');
  const api = apiCacheSchema.safeParse(top.data.api);
  if (!api.success) resetSlices.push('api');
  return {
    ok: true,
    resetSlices,
    state: {
      version: STATE_VERSION,
      pin: top.data.pin,
      engine: engine.success ? engine.data : initialEngineState(),
      api: api.success ? api.data : initialApiCache(),
      lastPass: top.data.lastPass,
    },
  };
}

/**
 * What of a state must survive a power cut at once, as text: the pin, the engine's state without its record of
 * observations, the API token and switches. A pass whose state differs from the one it read only outside this (a
 * steady pass: one more journal record, fresher "last seen" times) need not wait for its directory's fsync.
 */
export function lastingPart(state: State): string {
  const { token, switches } = state.api;
  return JSON.stringify({
    pin: state.pin,
    engine: withoutRecord(state.engine),
    api: { token, switches: switches && { ...switches, fetchedAt: null } },
  });
}
