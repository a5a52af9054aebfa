// The engine's slice of the state file (key "engine"): everything decide() needs to remember between passes.
// The state module validates it with engineStateSchema and replaces an invalid slice with initialEngineState().
import { z } from 'zod';

const ms = () => z.number().int().min(0);

/**
 * How the local SCVM looked this pass ("local healthy"). "unknown" = answers ping but no fresh session list to confirm;
 * "nfs-down" = the route goes via it and its NFS failed nfsCheck.failures checks in a row.
 */
export const localStatusSchema = z.enum(['healthy', 'icmp-down', 'nfs-down', 'session-missing', 'session-dead', 'unknown']);
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
  'local-nfs-down',
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
export const knownScvmSchema = z.object({
  dataIp: z.string(),
  manageIp: z.string().nullable(),
  zone: z.string().nullable(),
  sessionId: z.string().nullable(),
  /** alive in the last fresh list (false when missing from it or reported not alive) */
  alive: z.boolean(),
});
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
    /** passes folded into this entry, all alike (isRepeat); absent = one */
    repeats: z.number().int().min(2).optional(),
    /** agent time of the last of them */
    until: ms().optional(),
  })

export type JournalEntry = z.output<typeof journalEntrySchema>;

/**
 * What the engine noted about recent passes: when lists came and from where, when each SCVM was last seen, the pass
 * journal, when each warning was last given. It changes every pass, so it is kept on a RAM-backed path, not on the
 * host's boot media, and is gone after a reboot (an empty record is a valid one).
 */
export const engineRecordSchema = z.object({
  /** when a fresh session list was last received; null = not since the record began */
  listAt: ms().nullable(),
  /** management IP of the SCVM that answered it */
  listFrom: z.string().nullable(),
  /** data IP -> when a fresh list last held its session (SCVMs unseen for 7 days are forgotten) */
  lastSeen: z.record(ms()),
  journal: z.array(journalEntrySchema),
  /** warning key -> when it was last given (rate limit) */
  warnedAt: z.record(ms()),
  /** a session refresh that failed, while it keeps failing: for status and the log */
  refreshFailing: z
    .object({ target: z.string(), since: ms(), attempts: z.number().int().min(1), lastError: z.string() })
    .nullable(),
  /**
   * the NFS data-path checks through the route's target (nfsCheck): how many failed in a row and when the last known
   * one was made. Every check changes it, hence here and not in the state file; losing it at a reboot costs at most
   * nfsCheck.failures checks more before a verdict, never a wrong one
   */
  nfsRun: z.object({ target: z.string(), failed: z.number().int().min(0), lastAt: ms() }).nullable().default(null),
  /** data IP of a remote SCVM -> when its NFS was last found failed; no target for nfsCheck.avoidSec after that */
  nfsAvoid: z.record(ms()).default({}),
});
export type EngineRecord = z.output<typeof engineRecordSchema>;

/**
 * The engine's state between passes. Unknown keys are dropped when read (a newer agent may have added some), never
 * a reason to throw the state away. Everything but `record` changes only when something happens (a switch, a
 * relapse, a new SCVM), so the state file on the boot media is rewritten only then.
 */
export const engineStateSchema = z.object({
  v: z.literal(2),
  /** the route's target as last observed or successfully set (data IP, manage IP or pinned IP) */
  target: z.string().nullable(),
  local: z.object({
    /** local judged down (ICMP lost, or a fresh list without its live session); cleared only by a healthy pass */
    down: z.boolean(),
    /** start of the current unbroken healthy streak */
    healthySince: ms().nullable(),
    /** when it last went down */
    downSince: ms().nullable(),
    /**
     * fresh lists that showed the local session missing or dead while it answered ping, newest last, within
     * decide.sessionConfirmSec ("session confirmation")
     */
    sessionBadAt: z.array(ms()).max(10).default([]),
    /**
     * SCVM (the manage IP a fresh list came from) -> when its list last showed the local session missing or dead,
     * within decide.sessionConfirmSec. A list showing it alive from an SCVM not named here resets sessionBadAt (the
     * sightings were other SCVMs' partial lists). Older state files: none, so their sightings count as from no SCVM
     * known, and the first list showing the session alive resets them.
     */
    sessionBadBy: z.record(ms()).default({}),
  }),
  damping: z.object({
    /** flap penalty (exponent), decays with decide.flapHalfLifeSec from penaltyAt */
    penalty: z.number().min(0),
    penaltyAt: ms().nullable(),
    /** last relapses, newest last (for status) */
    relapses: z.array(ms()).max(32),
  }),
  sessions: z.object({
    /** a fresh session list was received at least once: remote targets are no longer judged by ping alone */
    everSeen: z.boolean(),
    known: z.array(knownScvmSchema),
  }),
  /** the active list: data IPs of the SCVMs whose session is alive, from the last fresh list */
  activeDataIps: z.array(z.string()),
  /** last cluster switch seen: route via manage IPs when no data IP is usable */
  secondaryChannel: z.boolean(),
  /**
   * The last session refresh that succeeded: where the route went and which session was told. A refresh is owed
   * whenever the route's target is not this one (the local SCVM when none was ever needed); worked out from the
   * route as observed, so a pass killed between a switch and its refresh cannot lose it.
   */
  refreshed: z.object({ target: z.string(), sessionId: z.string(), at: ms() }).nullable(),
  /**
   * the operator pin's target as the last pass saw it (probed every pass) and since when it has been failing (no
   * ping, or its session known dead; null while it is fine); null without a pin
   */
  pinWatch: z.object({ target: z.string(), failingSince: ms().nullable() }).nullable().default(null),
  record: engineRecordSchema,
});
export type EngineState = z.output<typeof engineStateSchema>;

/** An empty record: a first run, or the first pass after a reboot. */
export function emptyRecord(): EngineRecord {
  return { listAt: null, listFrom: null, lastSeen: {}, journal: [], warnedAt: {}, refreshFailing: null, nfsRun: null, nfsAvoid: {} };
}

/** The state of a host the engine has never seen: route believed unknown, no history. */
export function initialEngineState(): EngineState {
  return {
    v: 2,
    target: null,
    local: { down: false, healthySince: null, downSince: null, sessionBadAt: [], sessionBadBy: {} },
    damping: { penalty: 0, penaltyAt: null, relapses: [] },
    sessions: { everSeen: false, known: [] },
    activeDataIps: [],
    secondaryChannel: false,
    refreshed: null,
    pinWatch: null,
    record: emptyRecord(),
  };
}

/**
 * The state after a stretch of time nobody watched (a reboot): a healthy streak begun before it is not counted, so
 * the route goes back only after the local SCVM has been seen healthy for the whole stable period again.
 */
export function afterTimeGap(s: EngineState): EngineState {
  return { ...s, local: { ...s.local, healthySince: null } };
}
