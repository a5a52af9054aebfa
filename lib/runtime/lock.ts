// The pass lock, judged by its holder, never by a clock: a lock is held while the process that wrote it is alive.
// Field incident: a hung child kept the agent's lock for good and every later run exited on it. So a holder past its
// pass deadline (on the monotonic clock, which no clock step moves) is killed and its lock taken over.
//
// The lock file is created whole: the owner record is written to a temp file first and then hard-linked to the lock's
// name, which fails if the name exists (link(2) is atomic and never overwrites). A dead holder's lock is first renamed
// away, and only if the file moved is the one judged dead is it removed; otherwise it is put back.
// Not proper-lockfile: its lock is a directory judged by mtime (a clock), and its take-over (remove, then create) lets
// two takers both succeed; a directory cannot be created together with its owner record, so a holder killed between
// the two steps would leave a lock with no owner to judge.
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LockedError, LockLostError } from '../errors';
import { bootId, monotonicMs, pidAlive, processStartTime } from './host';
import type { Log } from './log';

/** What the lock file holds. */
export interface LockOwner {
  pid: number;
  /** the holder's start time (clock ticks since boot, /proc/<pid>/stat); null where the host has no /proc */
  start: string | null;
  /** boot id when the lock was taken; null where the host has none */
  boot: string | null;
  /** tells this taking of the lock from any other */
  nonce: string;
  /** monotonic ms by which the holder's pass must have ended (its deadline and a grace) */
  deadline: number;
  /** wall-clock time it was taken, for people only */
  since: string;
}

export interface PassLock {
  /** Throws LockLostError unless the lock file is still this taking's; call before every route change. */
  assertHeld(): void;
  /** Remove the lock if it is still ours; never someone else's. */
  release(): void;
}

export interface LockOptions {
  /** how long the pass may hold the lock: after this (plus graceMs) a waiting process takes it over */
  holdMs: number;
  graceMs: number;
  log: Log;
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.nonce !== 'string' || typeof o.deadline !== 'number') return null;
    return { start: null, boot: null, since: '?', ...o } as LockOwner;
  } catch {
    return null;
  }
}

/** How the holder of a lock stands: alive (within its time), overdue, or gone. */
export type Holder = 'alive' | 'overdue' | 'gone';

/** Judge a lock's owner: by boot, by pid and start time, and by its deadline on the monotonic clock. */
export function judgeOwner(o: LockOwner | null, now = { boot: bootId(), mono: monotonicMs() }): Holder {
  if (o === null) return 'gone'; // a lock file that is no owner record of ours: nobody can hold it
  if (o.boot !== null && now.boot !== null && o.boot !== now.boot) return 'gone';
  // our own pid: left by an earlier pass of this process, which holds no lock now
  if (o.pid === process.pid || !pidAlive(o.pid)) return 'gone';
  const start = processStartTime(o.pid);
  if (o.start !== null && start !== null && start !== o.start) return 'gone'; // the pid now names another process
  return now.mono > o.deadline ? 'overdue' : 'alive';
}

function describe(o: LockOwner | null): string {
  return o ? `pid ${o.pid} since ${o.since}` : 'holder unknown';
}

/** Take the lock or throw LockedError naming the holder. */
export function acquireLock(path: string, opts: LockOptions): PassLock {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const me: LockOwner = {
    pid: process.pid,
    start: processStartTime(process.pid),
    boot: bootId(),
    // tells this taking from others, no secret: not node:crypto, whose OpenSSL costs a process about 3 MB of RSS
    nonce: `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`,
    deadline: monotonicMs() + opts.holdMs + opts.graceMs,
    since: new Date().toISOString(),
  };
  const tmp = `${path}.${process.pid}.${me.nonce}.new`;
  writeFileSync(tmp, JSON.stringify(me) + '\n', { mode: 0o600 });
  try {
    for (let round = 0; round < 5; round++) {
      try {
        linkSync(tmp, path);
        return held(path, me, opts.log);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readOwner(path);
      const holder = judgeOwner(owner);
      if (holder === 'alive') throw new LockedError(path, describe(owner));
      if (holder === 'overdue' && owner!.start !== null) {
        // identity checked by start time: it is the stuck pass, not a stranger that got its pid
        opts.log.error(`lock ${path}: ${describe(owner)} is past its deadline; killing it and taking the lock over`);
        try {
          process.kill(owner!.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      takeOver(path, owner, opts.log);
    }
    throw new LockedError(path, 'taken by others faster than this run could take it');
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // linked or not, the temp name goes
    }
  }
}

/** Remove a lock judged dead, unless it changed meanwhile (then another process holds a new one: put it back). */
function takeOver(path: string, judged: LockOwner | null, log: Log): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // another taker removed it first
    throw e;
  }
  const moved = readOwner(aside);
  if (judged !== null && moved?.nonce !== judged.nonce) {
    try {
      linkSync(aside, path); // a fresh lock, taken after we judged: give it back
    } catch {
      // a third process holds the name now; the one we moved finds its lock lost before touching a route
    }
  } else {
    log.warn(`lock ${path}: taken over from ${describe(judged)}, which is gone`);
  }
  unlinkSync(aside);
}

function held(path: string, me: LockOwner, log: Log): PassLock {
  const mine = () => readOwner(path)?.nonce === me.nonce;
  return {
    assertHeld() {
      if (!mine()) throw new LockLostError(path, `now ${describe(readOwner(path))}`);
    },
    release() {
      if (!mine()) {
        log.warn(`lock ${path} is no longer this pass's (${describe(readOwner(path))}); left as it is`);
        return;
      }
      try {
        unlinkSync(path);
      } catch (e) {
        log.warn(`releasing lock ${path} failed: ${(e as Error).message}`);
      }
    },
  };
}
