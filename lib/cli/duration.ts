// Durations on the command line: "90s", "30m", "2h", "1d", or plain seconds.
import { UsageError } from '../errors';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration such as "30m"; UsageError naming the option otherwise. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} "${text}" is not a duration: use e.g. 90s, 30m, 2h or 1d`);
  const ms = Number(m[1]) * UNITS[m[2] || 's']!;
  if (ms <= 0 || ms > 365 * 86_400_000) throw new UsageError(`${option} "${text}" must be between 1s and 365d`);
  return ms;
}
