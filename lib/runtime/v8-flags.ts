// V8 settings for a process that lives a fraction of a second (one cron pass), set before any work is done.
// Measured with scripts/bench-pass and scripts/bench-probe (BENCHMARKS.md):
// - the optimising compilers (TurboFan, Maglev) compile hot loops on background threads that a short run never
//   repays: a 506-target sweep costs 57 ms of CPU with them, 39 ms without;
// - the young generation doubles after busy scavenges and keeps the pages: a pass ends with 8 MB of it, 4 MB
//   resident. Not growing it costs a few more scavenges of 1 MB and saves about 2 MB of RSS.
// No WebAssembly flags: the agent runs none since its API client is node:http (lib/observe/zbs/http.ts); the flags that
// kept undici's parser on Liftoff went with undici. The bundle's launcher can start it with --jitless (docs/esxi.md).
// The code cache (lib/boot) is only valid under the flags it was made with: change them, and the next pass
// rewrites it.
import { setFlagsFromString } from 'node:v8';

/** Tune V8 for a short-lived run: before anything is compiled that a code cache holds. */
export function tuneV8ForShortRun(): void {
  for (const flag of ['--no-opt', '--no-maglev', '--semi-space-growth-factor=1']) {
    setFlagsFromString(flag);
  }
}
