// Rate limit for repeated warnings: a condition is reported when it starts, then at most once a minute while it lasts.
import { due } from '../rate';

/** Minimum gap between two reports of the same continuing condition, ms. */
export const WARN_EVERY_MS = 60_000;

/** Which of the raised warnings to emit now, and the new last-emitted map (conditions gone are forgotten). */
export function rateLimit(
  raised: { key: string; text: string }[],
  warnedAt: Record<string, number>,
  now: number,
): { emit: string[]; warnedAt: Record<string, number> } {
  const next: Record<string, number> = {};
  const emit: string[] = [];
  for (const w of raised) {
    const last = warnedAt[w.key];
    if (due(last, now, WARN_EVERY_MS)) {
      emit.push(w.text);
      next[w.key] = now;
    } else {
      next[w.key] = last!;
    }
  }
  return { emit, warnedAt: next };
}
