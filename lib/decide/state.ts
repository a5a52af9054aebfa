// The engine's slice of the state file (key "engine"): everything decide() needs to remember between passes.
// The state module validates it with engineStateSchema and replaces an invalid slice with initialEngineState().
import { z } from 'zod';

const ms = () => z.number().int().min(0);

/** How the local SCVM looked this pass ("local healthy"). "unknown" = answers ping but no fresh session list to confirm. */
export const localStatusSchema = z.enum(['healthy', 'icmp-down', 'session-missing', 'session-dead', 'unknown']);
export type LocalStatus = z.output<typeof localStatusSchema>;

/** Why the engine chose what it chose; one code per row of the priority table in docs/decision.md. */
export const reasonSchema = z.enum([
  'reroute-disabled',
  'reroute-disabled-move',
  'pinned',
  'pinned-failing',
  'local-stable',
  'local-ok',
  'local-unconfirmed',
  'local-session-unconfirmed',
  'local-icmp-down',
  'local-session-missing',
  'local-session-dead',
  'remote-ok',
  'leave-secondary',
  'secondary-ok',
  'remote-failed-move',
  'remote-failed-go-local',
  'remote-failed-local-early',
  'secondary-channel',
  'no-healthy-target',
  'no-route-fallback',
]);
export type ReasonCode = z.output<typeof reasonSchema>;

/** One SCVM as the session lists have shown it; kept after its session disappears so every host agrees who is down. */
export const knownScvmSchema = z
  .object({
    dataIp: z.string(),
    manageIp: z.string().nullable(),
    zone: z.string().nullable(),
    sessionId: z.string().nullable(),
    /** alive in the last fresh list (false when missing from it or reported not alive) */
    alive: z.boolean(),
    /** last fresh list that held this SCVM's session */
    lastSeenAt: ms(),
  })
  .strict();
export type KnownScvm = z.output<typeof knownScvmSchema>;

/** One pass, compact, for `reroute status`. */
export const journalEntrySchema = z
  .object({
    at: ms(),
    local: localStatusSchema,
    /** the session list was fresh this pass */
    api: z.boolean(),
    /** next hop(s) the route had before this pass, "" when none */
    from: z.string(),
    /** the target wanted (data IP, manage IP or pin) */
    to: z.string(),
    change: z.boolean(),
    reason: reasonSchema,
    because: z.string(),
    /** filled by applyOutcome: "ok" or the error text */
    switched: z.string().optional(),
    refreshed: z.string().optional(),
  })
  .strict();
export type JournalEntry = z.output<typeof journalEntrySchema>;

export const engineStateSchema = z
  .object({
    v: z.literal(1),
    /** the route's target as last observed or successfully set (data IP, manage IP or pinned IP) */
    target: z.string().nullable(),
    local: z
      .object({
        /** local judged down (ICMP lost, or a fresh list without its live session); cleared only by a healthy pass */
        down: z.boolean(),
        /** start of the current unbroken healthy streak ("flap damping") */
        healthySince: ms().nullable(),
        /** when it last went down */
        downSince: ms().nullable(),
        /**
         * fresh lists that showed the local session missing or dead while it answered ping, newest last, within
         * decide.sessionConfirmSec ("session confirmation"); absent in state files written before it existed
         */
        sessionBadAt: z.array(ms()).max(10).default([]),
      })
      .strict(),
    damping: z
      .object({
        /** flap penalty (exponent), decays with decide.flapHalfLifeSec from penaltyAt */
        penalty: z.number().min(0),
        penaltyAt: ms().nullable(),
        /** last relapses, newest last (for status) */
        relapses: z.array(ms()).max(32),
      })
      .strict(),
    sessions: z
      .object({
        /** when a fresh list was last received; null = never */
        at: ms().nullable(),
        from: z.string().nullable(),
        known: z.array(knownScvmSchema),
      })
      .strict(),
    /** "active list": data IPs of the SCVMs whose session is alive, from the last fresh list */
    activeDataIps: z.array(z.string()),
    /** last cluster switch seen: route via manage IPs when no data IP is usable */
    secondaryChannel: z.boolean(),
    /** "refresh after add": a session refresh owed to `target` since a route add */
    refreshPending: z
      .object({ target: z.string(), since: ms(), attempts: z.number().int().min(0), lastError: z.string().nullable() })
      .strict()
      .nullable(),
    journal: z.array(journalEntrySchema),
    /** warning key -> when it was last emitted (rate limit) */
    warnedAt: z.record(ms()),
    /**
     * the operator pin's target as the last pass saw it (probed every pass) and since when it has been failing (no
     * ping, or its session known dead; null while it is fine); null without a pin. Absent in older state files.
     */
    pinWatch: z.object({ target: z.string(), failingSince: ms().nullable() }).strict().nullable().default(null),
  })
  .strict();
export type EngineState = z.output<typeof engineStateSchema>;

/** The state of a host the engine has never seen: route believed unknown, no history. */
export function initialEngineState(): EngineState {
  return {
    v: 1,
    target: null,
    local: { down: false, healthySince: null, downSince: null, sessionBadAt: [] },
    damping: { penalty: 0, penaltyAt: null, relapses: [] },
    sessions: { at: null, from: null, known: [] },
    activeDataIps: [],
    secondaryChannel: false,
    refreshPending: null,
    journal: [],
    warnedAt: {},
    pinWatch: null,
  };
}

/**
 * The engine state without its record of what was observed when (the journal, the time of the last session list,
 * when each SCVM was last seen): what two passes that changed nothing have in common. The state module makes a
 * change of this durable before the pass ends, and lets a change of the record alone wait for the filesystem.
 */
export function withoutRecord(s: EngineState): unknown {
  return {
    ...s,
    journal: null,
    sessions: { ...s.sessions, at: null, known: s.sessions.known.map((k) => ({ ...k, lastSeenAt: null })) },
  };
}
