// Plain data passed between observe -> decide -> act. No behaviour here.

/** What one ICMP sweep saw of one target. A failed probe is a result, never an exception. */
export interface ProbeResult {
  ip: string;
  sent: number;
  received: number;
  /** 0..100, over the echoes sent */
  lossPct: number;
  rttMinMs: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  /** at least probe.minReplies echoes answered within probe.waitMs */
  reachable: boolean;
  /** why nothing could be sent or judged, e.g. "ENETUNREACH" */
  error?: string;
}

/** One ZBS session as the API reports it, after validation (every IP is a plain dotted quad). */
export interface ZbsSession {
  /** session uuid; used in the refresh path, checked to hold no path characters */
  sessionId: string;
  /** storage ("data") IP of the SCVM that holds the session */
  dataIp: string;
  /** management ("secondary data") IP, when reported */
  manageIp: string | null;
  zone: string | null;
  /** the session is alive per the API (alive flag, or alive_sec > 0) */
  alive: boolean;
  aliveSec: number | null;
}

/** Cluster-wide switches read from the API. */
export interface ClusterSwitches {
  enableReroute: boolean;
  enableSecondaryDataChannel: boolean;
}

/**
 * The session list of this pass: fresh from one SCVM, or why there is none. `reused`: the last fresh list,
 * reused by a pass that did not ask (the long-lived mode asks every api.sessionsEverySec, docs/api.md): it counts as
 * what the cluster says, but never as a new sighting; a reused failure is the last ask's. `skipped`: not waited for
 * (the local SCVM fails ICMP).
 */
export type SessionsObservation =
  | { ok: true; sessions: ZbsSession[]; from: string; reused?: true }
  | { ok: false; reason: string; skipped?: true; reused?: true };

/**
 * Next hop(s) of the VIP /32 route as the host reports them. `reused`: as the long-lived runner read it up to 10 s ago
 * (lib/routes/cached.ts); a pass that would switch on it reads it again first.
 */
export type RouteObservation = { ok: true; nextHops: string[]; reused?: true } | { ok: false; reason: string };

/**
 * The NFS data-path check of one pass: a TCP connect to the NFS VIP, routed via the current target. "failed" is an
 * answer from the path (a refusal, or none within the deadline); "unknown" is a check that could not be made or was
 * not made (off, no route, no permission), never evidence against a target.
 */
export type NfsCheck =
  | { result: 'ok'; ms: number }
  | { result: 'failed'; why: string }
  // skipped: not made on purpose (the check is off, or the pass did not wait for it)
  | { result: 'unknown'; why: string; skipped?: boolean };

/** Everything one pass observed. */
export interface Observations {
  /** ICMP results keyed by IP: the local data IP and every candidate IP probed this pass */
  probes: Record<string, ProbeResult>;
  sessions: SessionsObservation;
  /** fresh or cached switches; null when never read */
  switches: ClusterSwitches | null;
  route: RouteObservation;
  /** the NFS data path via the route as observed (config nfsCheck) */
  nfs: NfsCheck;
}

/** An operator's pin (ROUTE mode), kept in the state file. */
export interface Pin {
  target: string;
  /** epoch ms; null = until `route --auto` */
  until: number | null;
  setAt: number;
  /** set with `route --force`: kept (with warnings) even while its target fails; absent = false */
  force?: boolean;
}
