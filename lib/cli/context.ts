// What every command receives: the global options and the one display layer. Commands emit; tests capture.
import { writeErr, writeOut } from '../runtime/stdio';
import type { EarlySweep } from '../boot/early-sweep';

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

/** What the loader (dist/reroute.js) hands the CLI; absent when dist/main.js runs directly or in tests. */
export interface BootHooks {
  /** what became of the V8 code cache: used, missing, rejected, stale, unsafe */
  codeCache: string;
  /** a pass completed: the loader may now write the code cache */
  passDone(): void;
  /** the loader's path (dist/reroute.js): what cron should run, not the bin/ shim in front of it */
  entry: string;
  /** the loader's own steps, ms since the process started (for REROUTE_TRACE) */
  marks: Array<[string, number]>;
  /** the sweep the loader started for `loop` from the previous pass's plan; the pass adopts or cancels it */
  earlySweep?: EarlySweep | null;
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
