// scripts/bench-fleet: the figures, worked out from what the emulators recorded. Pure functions of their arguments.

/** A request as an emulator saw it: arrival and end (epoch ms; no end: still open when the records were read). */
export interface Seen {
  at: number;
  endedAt?: number;
}

/** Arrivals in each whole second of [from, to): element k counts those in [from + k s, from + k s + 1 s). */
export function perSecond(requests: readonly Seen[], from: number, to: number): number[] {
  const counts = new Array<number>(Math.max(0, Math.floor((to - from) / 1000))).fill(0);
  for (const r of requests) {
    const k = Math.floor((r.at - from) / 1000);
    if (r.at >= from && k < counts.length) counts[k]!++;
  }
  return counts;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank percentile (p in 0..100); NaN for no values. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The most requests open at one moment of [from, to): a request is open from its arrival until its end. What was
 * already open at `from` counts.
 */
export function peakOpen(requests: readonly Seen[], from: number, to: number): number {
  const events: [number, number][] = [];
  for (const r of requests) {
    const end = r.endedAt ?? Infinity;
    if (r.at >= to || end <= from) continue;
    events.push([Math.max(r.at, from), 1], [end, -1]);
  }
  // at one instant, ends before arrivals: a request that ended as another arrived was not open beside it
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of events) {
    open += d;
    peak = Math.max(peak, open);
  }
  return peak;
}

/** The definition of "back to baseline", printed with the figure. */
export const BACK_DEFINITION =
  'back = the first second after the slowdown from which every sliding 5 s window (mean requests a second) stays within 20 % of the steady baseline';

export const BACK_WINDOW_SEC = 5;
export const BACK_TOLERANCE = 0.2;

/**
 * Seconds after the slowdown until the load is back: the first k from which the mean of every window of
 * BACK_WINDOW_SEC seconds starting at k or later is within BACK_TOLERANCE of `baseline`. `after[k]` is the count of
 * second k after the slowdown ended. null: not back before the series ends.
 */
export function backAfterSec(after: readonly number[], baseline: number): number | null {
  if (!(baseline > 0)) return null;
  const windows = windowMeans(after);
  const within = (k: number) => Math.abs(windows[k]! / baseline - 1) <= BACK_TOLERANCE;
  let back: number | null = null;
  for (let k = windows.length - 1; k >= 0 && within(k); k--) back = k;
  return back;
}

/** The mean of every window of BACK_WINDOW_SEC seconds: element k is the mean of seconds k .. k + 4. */
export function windowMeans(series: readonly number[]): number[] {
  return Array.from({ length: Math.max(0, series.length - BACK_WINDOW_SEC + 1) }, (_, k) => mean(series.slice(k, k + BACK_WINDOW_SEC)));
}
