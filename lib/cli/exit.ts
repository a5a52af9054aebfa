// The one exit path: error -> exit code + one line; flush logs; the only process.exit in the agent.
import { exitCodeFor, RerouteError } from '../errors';
import { killAllChildren } from '../runtime/child-groups';
import { mark } from '../runtime/trace';
import { writeErr } from '../runtime/stdio';

type Flusher = () => Promise<void>;
const flushers: Flusher[] = [];
let exiting = false;

/** Register something to flush before the process exits (the log file). */
export function onExitFlush(fn: Flusher): void {
  flushers.push(fn);
}

/** The one-line text for an error: ours carry their message; anything else is a bug and says so. */
export function errorLine(err: unknown): string {
  if (err instanceof RerouteError) return `reroute: ${err.message}`;
  const e = err as Error;
  return `reroute: internal error: ${e?.stack?.split('\n').slice(0, 2).join(' ') ?? String(err)} (please report it)`;
}

/** Flush (bounded), kill leftover children, exit. Safe to call twice: the first call wins. */
export async function exitWith(code: number, flushBudgetMs = 3000): Promise<never> {
  if (!exiting) {
    exiting = true;
    killAllChildren();
    const budget = new Promise<void>((r) => setTimeout(r, flushBudgetMs).unref());
    await Promise.race([Promise.all(flushers.map((f) => f().catch(() => undefined))), budget]);
    mark('flushed');
    process.exitCode = code;
    // eslint-disable-next-line n/no-process-exit
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}

/** Map a thrown value to its exit code, print its line on stderr, exit. */
export async function exitWithError(err: unknown): Promise<never> {
  writeErr(errorLine(err) + '\n');
  return exitWith(exitCodeFor(err));
}
