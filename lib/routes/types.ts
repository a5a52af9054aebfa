// The one interface a pass reads and moves the VIP route through, and what its two implementations are built from.
import type { ExecResult } from '../runtime/exec';
import type { Log } from '../runtime/log';
import type { RouteObservation } from '../types';

/** What switchTo did: enough for the pass to log "trying to add route from <vip> to <X>" and before/after. */
export interface SwitchResult {
  /** the route was changed (false when it was already right, and in dry-run) */
  changed: boolean;
  dryRun: boolean;
  /** argv of every command issued, in order (in dry-run: the commands that would have been issued) */
  commands: string[][];
  /** next hops before, as given by the caller */
  before: string[];
  /** next hops read back after the change (= before when nothing was done) */
  after: string[];
  /** a failed change was undone by putting the old route back (only ever set on a thrown RouteError's result) */
  restored: boolean;
}

/** How a switch may spend its time. */
export interface SwitchOptions {
  /** the time the whole switch may take, ms (what is left of the pass's deadline); none: no bound beyond each command's */
  budgetMs?: number;
}

/** Reads and moves the `<vip>/32` host route of one platform. */
export interface RouteBackend {
  readonly platform: 'esxi' | 'linux';
  /**
   * Next hops of the static `<vip>/32` routes; failure is data ({ok:false}), never a throw. A backend that keeps what it
   * read (lib/routes/cached.ts) may answer from memory, marked `reused`, unless `fresh` is asked for.
   */
  readVip(opts?: { fresh?: boolean }): Promise<RouteObservation>;
  /** Make `nextHop` the only next hop; no command at all when `current` is already exactly that. Throws RouteError. */
  switchTo(nextHop: string, current: string[], opts?: SwitchOptions): Promise<SwitchResult>;
  /** This host's IPv4s for the session refresh, without nfsHostIp, loopback and link-local. Throws CommandError. */
  hostIps(): Promise<string[]>;
}

/** Runs one command with the configured hard timeout; failures are logged with stdout, stderr and status. */
export interface CommandRunner {
  /** Resolves whatever the exit status; rejects (after logging) on timeout or when the command cannot start. */
  run(argv: string[]): Promise<ExecResult>;
}

/** What both backends are built from. */
export interface BackendDeps {
  vip: string;
  nfsHostIp: string;
  log: Log;
  dryRun: boolean;
  runner: CommandRunner;
  /** the hard timeout of one command (config.commandTimeoutMs), ms: what a switch plans its retries with */
  commandTimeoutMs: number;
}
