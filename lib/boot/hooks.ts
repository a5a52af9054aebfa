// What the loader (dist/reroute.js) hands the CLI; absent when dist/main.js runs directly or in tests.

export interface BootHooks {
  /** the loader's path (dist/reroute.js): what cron should run, not the bin/ shim in front of it */
  entry: string;
}
