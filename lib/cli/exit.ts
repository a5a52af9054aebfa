// The one exit path: error -> exit code + one line; flush logs; the only process.exit in the agent.
import { exitCodeFor, RerouteError } from '../errors';
import { killAllChildren } from '../runtime/child-groups';
import { writeErr } from '../runtime/stdio';

type Flusher = () => Promise<void>;
const flushers: Flusher[] = [];
let exiting = false;

/** Register something to flush before the process exits (the log file). */
export function onExitFlush(fn: Flusher): void {
  flushers.push(fn);
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

/** Flush (bounded), kill leftover children, exit. Safe to call twice: the first call wins. */
export async function exitWith(code: number, flushBudgetMs = 3000): Promise<never> {
  if (!exiting) {
    exiting = true;
    killAllChildren();
    const budget = new Promise<void>((r) => setTimeout(r, flushBudgetMs).unref());
    await Promise.race([Promise.all(flushers.map((f) => f().catch(() => undefined))), budget]);
    process.exitCode = code;
    // eslint-disable-next-line n/no-process-exit
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}

/** Map a thrown value to its exit code, print it on stderr (one line, or one JSON object with --json), exit. */
export async function exitWithError(err: unknown, opts: { json?: boolean } = {}): Promise<never> {
  writeErr((opts.json ? errorJson(err) : errorLine(err)) + '\n');
  return exitWith(exitCodeFor(err));
}
