// What the host says about time and processes, read the same way by the lock and the clock. Linux has all of it in
// /proc; a host without it (ESXi may lack these files) gets null, and its callers take the safe side.
import { readFileSync, readlinkSync } from 'node:fs';

let cachedBootId: string | null | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id), or null where the host has none. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

/** Milliseconds on the monotonic clock (CLOCK_MONOTONIC: from boot, never stepped, the same in every process). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

/** When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or null when it cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces and parentheses itself
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether a process with this pid lives (it may be someone else's: EPERM counts as alive). A zombie does not: it is
 * dead and only waits for its parent to reap it, which busybox crond does for its jobs only once a loop, up to a
 * minute later (a runner killed under cron still answered `kill -0` meanwhile, and held its locks).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (ESXi): kill -0 is all there is
  }
}

/** The executable `pid` runs (/proc/<pid>/exe, without " (deleted)" after an upgrade replaced it), or null. */
export function processExe(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return null;
  }
}
