// Running the route commands: every command with its hard timeout, every failure turned into data or a clear error,
// and nothing ever built from a missing value.
import { CommandError, CommandStuckError, MissingValueError } from '../errors';
import { isIPv4 } from '../net/ipv4';
import { run, type ExecResult } from '../runtime/exec';
import type { Log } from '../runtime/log';
import type { CommandRunner, SwitchResult } from './types';

/** A CommandRunner over lib/runtime/exec with `timeoutMs` per command. */
export function commandRunner(log: Log, timeoutMs: number, env: NodeJS.ProcessEnv): CommandRunner {
  /** the command lines refused as stuck and said so: said once, not each pass, until the line runs again */
  const saidStuck = new Set<string>();
  return {
    async run(argv) {
      const line = argv.join(' ');
      let r: ExecResult;
      try {
        r = await run(argv, { timeoutMs, env });
      } catch (e) {
        if (e instanceof CommandStuckError) {
          if (saidStuck.has(line)) log.debug(e.message);
          else log.error(`${e.message}; not started again until it ends`, { argv, pid: e.pid });
          saidStuck.add(line);
        } else log.error(`command "${line}" failed: ${(e as Error).message}`, { argv, timeoutMs });
        throw e;
      }
      if (saidStuck.delete(line)) log.info(`command "${line}" runs again: its stuck run ended`);
      if (r.status !== 0) {
        log.error(`command "${line}" exited ${r.status === null ? `on signal ${r.signal}` : r.status}`, {
          argv,
          status: r.status,
          signal: r.signal,
          stdout: r.stdout,
          stderr: r.stderr,
        });
      } else {
        log.debug(`command "${line}" ok in ${r.durationMs} ms`);
      }
      return r;
    },
  };
}

/** Outcome of one changing command: ok, or a one-line reason (non-zero exit, timeout, could not start). */
export type Attempt = { ok: true } | { ok: false; error: string };

/** Run a changing command and turn every failure into an Attempt instead of a throw. */
export async function attempt(runner: CommandRunner, argv: string[]): Promise<Attempt> {
  try {
    const r = await runner.run(argv);
    if (r.status === 0) return { ok: true };
    const first = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
    const how = r.status === null ? `signal ${r.signal}` : `exit ${r.status}`;
    return { ok: false, error: `"${argv.join(' ')}" failed with ${how}${first ? `: ${first}` : ''}` };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Run a read-only command; a non-zero exit becomes a CommandError (already logged by the runner). */
export async function readCommand(runner: CommandRunner, argv: string[]): Promise<ExecResult> {
  const r = await runner.run(argv);
  if (r.status !== 0) {
    const first = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
    throw new CommandError(`command "${argv.join(' ')}" failed with exit ${r.status ?? r.signal}: ${first}`, r);
  }
  return r;
}

/** True when the route already goes exactly (and only) via `nextHop`: then nothing may be issued. */
export function alreadyRight(current: string[], nextHop: string): boolean {
  return current.length === 1 && current[0] === nextHop;
}

/** `value` when it is a dotted-quad IPv4; otherwise a MissingValueError naming `what` (never build argv from it). */
export function requireIPv4(value: unknown, what: string): string {
  if (!isIPv4(value)) throw new MissingValueError(`${what} (got ${JSON.stringify(value)})`, { what, value });
  return value;
}

/** A SwitchResult for "nothing issued". */
export function unchanged(before: string[], dryRun: boolean, commands: string[][] = []): SwitchResult {
  return { changed: false, dryRun, commands, before: [...before], after: [...before], restored: false };
}
