// The one rate rule (a leaf of lib/: the engine and the runtime both use it): something done at `last` is due again `periodMs` later. A clock that went back (now < last)
// makes it due at once rather than never. Used by the warnings' limiter (decide/warnings.ts), the log's repeats
// (runtime/logger.ts), the once-an-hour lines (runtime/said.ts) and the API's pace (pass/pacing.ts).
export function due(last: number | null | undefined, now: number, periodMs: number): boolean {
  return last === null || last === undefined || now < last || now - last >= periodMs;
}
