// Every error the agent raises on purpose. Callers branch on `code`, never on message text.
// The exit code of the CLI is chosen from the class (see lib/cli/exit.ts and README "Exit codes").

export type ErrorCode =
  | 'E_CONFIG'
  | 'E_USAGE'
  | 'E_PERMISSION'
  | 'E_LOCKED'
  | 'E_LOCK_LOST'
  | 'E_DEADLINE'
  | 'E_COMMAND'
  | 'E_COMMAND_TIMEOUT'
  | 'E_ROUTE'
  | 'E_STATE'
  | 'E_FILE'
  | 'E_MISSING_VALUE'
  | 'E_OLD_AGENT'
  | 'E_ON_NFS';

/** Base class: a stable code, a one-line message and context fields for the log. */
export class RerouteError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** Bad config file or credentials file: exit 2, nothing touched. */
export class ConfigError extends RerouteError {
  readonly problems: string[];
  constructor(problems: string[], file?: string) {
    const where = file ? `config ${file}: ` : 'config: ';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join('; ')})` : '';
    super('E_CONFIG', `${where}${problems[0] ?? 'invalid'}${more}`, { file, problems });
    this.problems = problems;
  }
}

/** Bad command-line arguments: exit 2. */
export class UsageError extends RerouteError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** The agent lacks a privilege it needs (raw socket, a root-only file): exit 2. */
export class PermissionError extends RerouteError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('E_PERMISSION', message, context);
  }
}

/** Another pass holds the lock: exit 3. */
export class LockedError extends RerouteError {
  constructor(lockPath: string, holder: string) {
    super('E_LOCKED', `another reroute pass holds the lock ${lockPath} (${holder}); this run did nothing`, {
      lockPath,
      holder,
    });
  }
}

/** This pass lost its lock (frozen past the stale period, another pass took over): stop before touching routes. */
export class LockLostError extends RerouteError {
  constructor(lockPath: string, detail: string) {
    super('E_LOCK_LOST', `this pass lost its lock ${lockPath} (${detail}); stopped before changing any route`, {
      lockPath,
    });
  }
}

/** The pass (or one step of it) ran past its deadline. */
export class DeadlineError extends RerouteError {
  constructor(what: string, ms: number) {
    super('E_DEADLINE', `${what} ran past its deadline of ${ms} ms`, { what, ms });
  }
}

/** An external command exited non-zero or could not start. */
export class CommandError extends RerouteError {
  constructor(
    message: string,
    readonly result: { argv: string[]; status: number | null; signal: string | null; stdout: string; stderr: string },
  ) {
    super('E_COMMAND', message, { ...result });
  }
}

/**
 * A command line not started: a run of the same line killed at its timeout has not ended (uninterruptible sleep on a
 * hung disk or in the kernel), and another start would most likely hang the same way, one more process each pass.
 */
export class CommandStuckError extends CommandError {
  constructor(
    argv: string[],
    readonly pid: number,
  ) {
    super(`command "${argv.join(' ')}" not started: pid ${pid}, a run of it killed at its timeout, has not ended (uninterruptible I/O?)`, {
      argv,
      status: null,
      signal: null,
      stdout: '',
      stderr: '',
    });
  }
}

/** An external command ran past its timeout and was killed with its process group. */
export class CommandTimeoutError extends RerouteError {
  constructor(argv: string[], ms: number) {
    super('E_COMMAND_TIMEOUT', `command "${argv.join(' ')}" ran past its ${ms} ms timeout and was killed`, { argv, ms });
  }
}

/** A route change failed or did not read back as expected. */
export class RouteError extends RerouteError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('E_ROUTE', message, context);
  }
}

/** The state file cannot be written. (An unreadable one is moved aside, not an error.) */
export class StateError extends RerouteError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('E_STATE', message, context);
  }
}

/**
 * A file operation failed or hung (errno `EHANG`: no answer within its bound; `ENOTREG`: not a regular file). The
 * agent's files are aids: the runner logs this and goes on from what it holds in memory (docs/state.md).
 */
export class FileError extends RerouteError {
  constructor(
    readonly path: string,
    readonly op: string,
    readonly errno: string,
    detail: string,
  ) {
    super('E_FILE', `${op} ${path}: ${errno === 'EHANG' ? 'the file system does not answer' : errno} (${detail})`, { path, op, errno });
  }

  get hangs(): boolean {
    return this.errno === 'EHANG';
  }
}

/**
 * A value needed to build a path or a command is missing.
 * Field incident: a failed lookup became "/vmfs/volumes/None/..."; never build from missing values.
 */
export class MissingValueError extends RerouteError {
  constructor(what: string, context: Record<string, unknown> = {}) {
    super('E_MISSING_VALUE', `refusing to build ${what} from a missing value`, context);
  }
}

/** `install` found the Python agent's cron lines or boot hooks: two agents would fight over the route. Exit 2. */
export class OldAgentError extends RerouteError {
  constructor(where: string) {
    super(
      'E_OLD_AGENT',
      `the old Python agent still manages the route from ${where}: two agents would fight over it; nothing was changed: rerun with --replace-old-agent to comment those lines out`,
      { where },
    );
  }
}

/**
 * An agent file on the NFS datastore served through the VIP (issue 15 case 7): the agent would hang exactly when
 * that datastore fails. Exit 2.
 */
export class OnNfsError extends RerouteError {
  constructor(what: string, vip: string) {
    super('E_ON_NFS', `${what}, served through the NFS VIP ${vip}: the agent would hang exactly when it is needed; move the agent's files to local storage (/scratch on a local disk, /var/run); nothing was changed`, { what, vip });
  }
}

/** Exit codes, documented in README and `reroute --help`. */
export const EXIT = {
  OK: 0,
  PASS_FAILED: 1,
  USAGE: 2,
  LOCKED: 3,
} as const;

/**
 * Whether an error ends the long-lived runner instead of only the pass it came from: the errors that exit 2 (a bad
 * config or usage, a missing privilege: trying again each second cannot help), and a pass past its deadline (what it
 * left running ends with the process; the watchdog and cron's guard lines start the next). Everything else (a failed
 * route change, a file, the API) fails that pass, and the next slot tries again.
 */
export function endsTheRunner(err: unknown): boolean {
  return exitCodeFor(err) === EXIT.USAGE || (err instanceof RerouteError && err.code === 'E_DEADLINE');
}

/** Map any thrown value to the exit code of the CLI. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof RerouteError) {
    switch (err.code) {
      case 'E_CONFIG':
      case 'E_USAGE':
      case 'E_PERMISSION':
      case 'E_MISSING_VALUE':
      case 'E_OLD_AGENT':
      case 'E_ON_NFS':
        return EXIT.USAGE;
      case 'E_LOCKED':
        return EXIT.LOCKED;
      default:
        return EXIT.PASS_FAILED;
    }
  }
  return EXIT.PASS_FAILED;
}
