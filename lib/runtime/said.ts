// "Say it at most once an hour": for lines that would otherwise repeat every pass (a bad config, a newer agent's state
// file). Remembered in a small file per message on a RAM-backed directory (`said-<hash>`: {"boot", "mono"}), timed
// on the monotonic clock, so neither a clock step nor a restart of the process shortens the hour. Forgotten at a
// reboot, which is a new start anyway. Its reads and writes are bounded (runtime/files.ts); where they fail, the line
// is said every time rather than never.
import { join } from 'node:path';
import { readText, writeFileBounded } from './files';
import { bootId, monotonicMs } from './host';
import { due } from '../rate';

/**
 * FNV-1a, 32 bits, as hex: a file name per message (not node:crypto: loading it costs a one-pass `loop` about 19 ms,
 * BENCHMARKS.md, "Start-up tricks").
 */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The said-file's content -> when it was said; null when it is not what this version writes. */
/** The usual window of saidWithin: a fault that lasts is said once an hour. */
export const HOUR_MS = 3600_000;

export function parseSaid(text: string | null): { boot: string | null; mono: number } | null {
  try {
    const v = JSON.parse(text ?? '') as { boot?: unknown; mono?: unknown };
    const boot = typeof v.boot === 'string' || v.boot === null ? v.boot : undefined;
    return boot !== undefined && typeof v.mono === 'number' && Number.isFinite(v.mono) ? { boot, mono: v.mono } : null;
  } catch {
    return null;
  }
}

/** True when `message` was said less than `periodMs` ago in this boot; else remembers it as said now and is false. */
export async function saidWithin(dir: string, message: string, periodMs: number): Promise<boolean> {
  const mark = join(dir, `said-${fnv1a(message)}`);
  const now = { boot: bootId(), mono: monotonicMs() };
  const last = parseSaid(await readText(mark).catch(() => null));
  if (last && last.boot === now.boot && !due(last.mono, now.mono, periodMs)) return true;
  await writeFileBounded(mark, JSON.stringify(now), { mode: 0o600, dirMode: 0o700 }).catch(() => undefined);
  return false;
}
