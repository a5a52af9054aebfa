// "Say it at most once an hour": for lines that would otherwise repeat every pass (a bad config, a newer agent's state
// file). Remembered in a small file per message on a RAM-backed directory, timed on the monotonic clock, so neither a
// clock step nor a restart of the process shortens the hour. Forgotten at a reboot, which is a new start anyway.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootId, monotonicMs } from './host';

/** True when `message` was said less than `periodMs` ago in this boot; else remembers it as said now and is false. */
export function saidWithin(dir: string, message: string, periodMs: number): boolean {
  const mark = join(dir, `said-${createHash('sha256').update(message).digest('hex').slice(0, 16)}`);
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
