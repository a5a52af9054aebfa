// What every command receives: the global options and the one display layer. Commands emit; tests capture.
import type { BootHooks } from '../boot/hooks';
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
