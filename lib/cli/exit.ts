// The one exit path: error -> exit code + one line; flush logs; the only process.exit in the agent (a test holds
// that). A crash (an unhandled rejection or exception) comes here too: logged, children killed, exit 1.
import { exitCodeFor, RerouteError } from '../errors';
import { killAllChildren } from '../runtime/exec';
import { stuckFileOps } from '../runtime/files';
import type { Log } from '../runtime/log';
import { writeErr } from '../runtime/stdio';

type Flusher = () => Promise<void>;
const flushers: Flusher[] = [];
const logs: Log[] = [];
let exiting = false;

/** Register the process's log: flushed before the process exits, and told of a crash (under cron nobody reads stderr). */
export function onExitFlush(fn: Flusher, log?: Log): void {
  flushers.push(fn);
  if (log) logs.push(log);
}

/**
 * Route a crash into the one exit path: an unhandled rejection or exception is logged (with where it came from),
 * the process's children are killed, and it exits 1. Without this Node prints to stderr, which cron throws away.
 */
export function installCrashHandlers(): void {
  const crash = (what: string) => (err: unknown) => {
    const line = `${what}: ${errorParts(err).message}`;
    for (const log of logs) log.error(line);
    void exitWithError(err);
  };
  process.on('unhandledRejection', crash('unhandled rejection'));
  process.on('uncaughtException', crash('uncaught exception'));
}

/** An error as the user sees it: a stable code and one line. Ours carry their message; anything else is a bug. */
export function errorParts(err: unknown): { code: string; message: string } {
  if (err instanceof RerouteError) return { code: err.code, message: err.message };
  const e = err as Error;
  const where = e?.stack?.split('\n').slice(0, 2).join(' ') ?? String(err);
  return { code: 'E_INTERNAL', message: `internal error: ${where} (please report it)` };
}

/** The one-line text for an error, with the one prefix every error of the CLI has. */
export function errorLine(err: unknown): string {
  return `reroute: ${errorParts(err).message}`;
}

/** The error as one JSON object (commands run with --json): {"error": {"code", "message"}}. */
export function errorJson(err: unknown): string {
  return JSON.stringify({ error: errorParts(err) });
}

/**
 * Flush (bounded), kill leftover children, exit. Safe to call twice: the first call wins. A file operation still
 * unanswered (a disk that hangs, runtime/files.ts) keeps the process from ending until it is answered (Linux holds
 * its thread, and Node joins its threads at exit): said once, on stderr and in the log, never a silent hang.
 */
export async function exitWith(code: number, flushBudgetMs = 3000): Promise<never> {
  if (!exiting) {
    exiting = true;
    killAllChildren();
    const stuck = stuckFileOps();
    if (stuck.length > 0) {
      const line = `exiting with ${stuck.map((s) => `${s.op} ${s.path}`).join(', ')} unanswered: this process ends when the file system answers`;
      for (const log of logs) log.warn(line);
      writeErr(`reroute: ${line}\n`);
    }
    const budget = new Promise<void>((r) => setTimeout(r, flushBudgetMs).unref());
    await Promise.race([Promise.all(flushers.map((f) => f().catch(() => undefined))), budget]);
    process.exitCode = code;
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}

/** Map a thrown value to its exit code, print it on stderr (one line, or one JSON object with --json), exit. */
export async function exitWithError(err: unknown, opts: { json?: boolean } = {}): Promise<never> {
  writeErr((opts.json ? errorJson(err) : errorLine(err)) + '\n');
  return exitWith(exitCodeFor(err));
}
