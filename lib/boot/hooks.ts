// What the loader (dist/reroute.js) hands the CLI; absent when dist/main.js runs directly or in tests.

export interface BootHooks {
  /** what became of the V8 code cache: used, missing, rejected, stale, unsafe */
  codeCache: string;
  /** a pass completed: the loader may now write the code cache */
  passDone(): void;
  /** the loader's path (dist/reroute.js): what cron should run, not the bin/ shim in front of it */
  entry: string;
}
