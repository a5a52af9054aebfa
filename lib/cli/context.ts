// What every command receives: the global options and the one display layer. Commands emit; tests capture.
import type { BootHooks } from '../boot/hooks';
import { silentLog, type Log } from '../runtime/log';
import { writeErr, writeOut } from '../runtime/stdio';

export type { BootHooks };

export interface GlobalOptions {
  /** --config or REROUTE_CONFIG; undefined = the default path */
  config?: string;
  dryRun: boolean;
  verbose: boolean;
}

/** The only writer to the terminal. */
export interface Display {
  out(line: string): void;
  err(line: string): void;
}

export interface CommandEnv {
  globals: GlobalOptions;
  display: Display;
  boot?: BootHooks;
}

/** Display that writes to the process's stdout/stderr. */
export const processDisplay: Display = {
  out: (line) => writeOut(line + '\n'),
  err: (line) => writeErr(line + '\n'),
};

/** A diagnostic command's log: its lines on stderr with --verbose, else nowhere. */
export function verboseLog(env: CommandEnv): Log {
  if (!env.globals.verbose) return silentLog;
  const line = (level: string) => (message: string, context?: Record<string, unknown>) =>
    env.display.err(`${level}: ${message}${context ? ' ' + JSON.stringify(context) : ''}`);
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') };
}
