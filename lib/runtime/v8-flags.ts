// V8 settings for a process that lives a fraction of a second (one cron pass), set before any work is done.
// Measured with scripts/bench-pass and scripts/bench-probe (BENCHMARKS.md):
// - the optimising compilers (TurboFan, Maglev) compile hot loops on background threads that a short run never
//   repays: a 506-target sweep costs 57 ms of CPU with them, 39 ms without;
// - undici parses HTTP with a WebAssembly module; compiling it with the optimising tier costs a pass about 22 MB of
//   RSS and the runner its compile on background threads each minute. The baseline compiler (Liftoff) is plenty for
//   a few small answers. Set at run time, `--liftoff-only` does nothing on Node 24 (V8 applies a flag's implications
//   only at start-up, and the hot parser still tiered up to TurboFan): turning off both tier-ups is what keeps it on
//   Liftoff (tests/runtime/v8-flags.test.ts).
// (--jitless and --lite-mode would save more but disable WebAssembly, so undici could not parse an answer.)
// - the young generation doubles after busy scavenges and keeps the pages: a pass ends with 8 MB of it, 4 MB
//   resident. Not growing it costs a few more scavenges of 1 MB and saves about 2 MB of RSS.
// The code cache (lib/boot) is only valid under the flags it was made with: change them, and the next pass
// rewrites it.
import type * as V8 from 'node:v8';

/** Tune V8 for a short-lived run: before anything is compiled that a code cache holds. */
export function tuneV8ForShortRun(): void {
  // node:v8 takes 1.2 ms to load: only when called (the loader sends the first echoes before)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { setFlagsFromString } = require('node:v8') as typeof V8;
  for (const flag of ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering', '--no-opt', '--no-maglev', '--semi-space-growth-factor=1']) {
    setFlagsFromString(flag);
  }
}
