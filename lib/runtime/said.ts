// "Say it at most once an hour": for lines that would otherwise repeat every pass (a bad config, a newer agent's state
// file). Remembered in a small file per message on a RAM-backed directory, timed on the monotonic clock, so neither a
// clock step nor a restart of the process shortens the hour. Forgotten at a reboot, which is a new start anyway.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootId, monotonicMs } from './host';

/** FNV-1a, 32 bits, as hex: a file name per message (not node:crypto: its OpenSSL costs every process megabytes). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** True when `message` was said less than `periodMs` ago in this boot; else remembers it as said now and is false. */
export function saidWithin(dir: string, message: string, periodMs: number): boolean {
  const mark = join(dir, `said-${fnv1a(message)}`);
  const now = { boot: bootId(), mono: monotonicMs() };
  try {
    const last = JSON.parse(readFileSync(mark, 'utf8')) as { boot: string | null; mono: number };
    if (last.boot === now.boot && now.mono >= last.mono && now.mono - last.mono < periodMs) return true;
  } catch {
    // never said
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(mark, JSON.stringify(now));
  } catch {
    // no memory here: said every time rather than never
  }
  return false;
}
