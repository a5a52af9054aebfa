// The agent's locks (the pass lock, the runner lock, the log's rotation lock), judged by their holder, never by a
// clock: a lock is held while the process that took it is alive and is that process. Field incident: a hung child
// kept the agent's lock for good and every later run exited on it. So a holder past its deadline (on the monotonic
// clock, which no clock step moves) is killed, when it provably is the holder, and its lock taken over.
//
// A lock is a symlink whose target is its owner record (`pid=.. start=.. boot=.. nonce=.. deadline=..`), as Emacs's
// lock files are: symlink(2) creates the name and its content in one step and fails if the name exists, and on a
// tmpfs a target this short is kept in the inode, so a full RAM disk (issue 26 case 1) still takes a lock. A dead
// holder's lock is first renamed away, and only if the name moved is the one judged dead is it removed; otherwise
// it is put back. Every operation is bounded (runtime/files.ts): a lock directory that hangs or refuses writes is an
// error of its own (FileError), never a wait; the runner then passes without the lock (lib/pass/runner.ts).
// Not proper-lockfile: its lock is a directory judged by mtime (a clock), and its take-over (remove, then create) lets
// two takers both succeed.
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { FileError, LockedError, LockLostError } from '../errors';
import { bounded, makeDir, READ_MS, WRITE_MS } from './files';
import { bootId, monotonicMs, pidAlive, processExe, processStartTime } from './host';
import type { Log } from './log';

/** What the lock holds. */
export interface LockOwner {
  pid: number;
  /** the holder's start time (clock ticks since boot, /proc/<pid>/stat); null where the host has no /proc */
  start: string | null;
  /** boot id when the lock was taken; null where the host has none */
  boot: string | null;
  /** tells this taking of the lock from any other */
  nonce: string;
  /** monotonic ms by which the holder must have let go (its hold and a grace) */
  deadline: number;
}

export interface PassLock {
  /** Throws LockLostError when the lock names another taking now; call before every route change. */
  assertHeld(): Promise<void>;
  /** Remove the lock if it is still ours; never someone else's. */
  release(): Promise<void>;
  /** whose lock this taking removed because its holder was gone or stuck (a runner that died), else absent */
  tookOver?: string;
}

export interface LockOptions {
  /** how long the holder may keep the lock: after this (plus graceMs) a waiting process takes it over */
  holdMs: number;
  graceMs: number;
  log: Log;
}

/** The owner record as the lock's symlink target: under 128 bytes, so tmpfs keeps it in the inode. */
export function formatOwner(o: LockOwner): string {
  return `pid=${o.pid} start=${o.start ?? '-'} boot=${o.boot ?? '-'} nonce=${o.nonce} deadline=${o.deadline}`;
}

const OWNER = /^pid=([1-9]\d{0,9}) start=(\d{1,20}|-) boot=([0-9a-f-]{1,64}|-) nonce=([0-9a-z]{1,32}) deadline=(\d{1,16})$/;

/** A lock's symlink target -> its owner record; null when it is none of ours (forged, damaged, another format). */
export function parseOwner(text: string): LockOwner | null {
  const m = OWNER.exec(text);
  if (!m) return null;
  const dash = (v: string) => (v === '-' ? null : v);
  return { pid: Number(m[1]), start: dash(m[2]!), boot: dash(m[3]!), nonce: m[4]!, deadline: Number(m[5]) };
}

/** The owner record at `path`: undefined when there is no lock, null when what is there is no owner record of ours. */
async function readOwner(path: string): Promise<LockOwner | null | undefined> {
  return bounded('read lock', path, READ_MS, async () => {
    try {
      return parseOwner(await fsp.readlink(path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EINVAL') return null; // a file that is no symlink: not a lock of this version
      throw e;
    }
  });
}

/** The owner record of the lock at `path` (bounded): undefined when there is none, null when it is none of ours. */
export const readLockOwner = (path: string): Promise<LockOwner | null | undefined> => readOwner(path);

/** How the holder of a lock stands: alive (within its time), overdue, or gone. */
export type Holder = 'alive' | 'overdue' | 'gone';

export interface HostNow {
  boot: string | null;
  mono: number;
  /** whether this host has /proc (Linux, Xen dom0): then a holder must prove it is the process that took the lock */
  proc: boolean;
}

const hostNow = (): HostNow => ({ boot: bootId(), mono: monotonicMs(), proc: processStartTime(process.pid) !== null });

/**
 * Judge a lock's owner. Trusted only while its holder is alive and is the process that took the lock: same boot,
 * the pid alive, and, where /proc has it, the same start time; a deadline further off than `boundMs` (the longest
 * any taker holds this lock) is no deadline of ours, and where there is no /proc a lock past its deadline is taken
 * over without killing (nothing proves whose the pid is now).
 */
export function judgeOwner(o: LockOwner | null, boundMs: number, now: HostNow = hostNow()): Holder {
  if (o === null) return 'gone'; // nothing of ours: nobody can hold it
  if (o.boot !== null && now.boot !== null && o.boot !== now.boot) return 'gone';
  if (o.deadline > now.mono + boundMs) return 'gone'; // forged, or another boot's clock
  // our own pid: left by an earlier taking of this process, which holds no lock now
  if (o.pid === process.pid || !pidAlive(o.pid)) return 'gone';
  if (now.proc) {
    // the pid names the process that took the lock only if its start time is the one recorded
    const start = processStartTime(o.pid);
    if (o.start === null || start === null || start !== o.start) return 'gone';
  }
  return now.mono > o.deadline ? 'overdue' : 'alive';
}

function describe(o: LockOwner | null): string {
  return o ? `pid ${o.pid}` : 'holder unknown';
}

/** A lock operation failed (the directory is full, read-only or hangs): a FileError naming the lock. */
function lockFailed(path: string, e: unknown): FileError {
  if (e instanceof FileError) return e;
  const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return new FileError(path, 'lock', errno, (e as Error).message);
}

/**
 * Take the lock or throw LockedError naming a live holder; FileError when the lock cannot be read or written at all.
 * `boundMs` (default holdMs + graceMs) is the longest any taker holds this lock.
 */
export async function acquireLock(path: string, opts: LockOptions & { boundMs?: number }): Promise<PassLock> {
  const boundMs = opts.boundMs ?? opts.holdMs + opts.graceMs;
  await makeDir(dirname(path), 0o700);
  const me: LockOwner = {
    pid: process.pid,
    start: processStartTime(process.pid),
    boot: bootId(),
    // tells this taking from others, no secret: not node:crypto (about 19 ms a one-pass `loop`: BENCHMARKS.md, "Start-up tricks")
    nonce: `${Date.now().toString(36).slice(-6)}${Math.random().toString(36).slice(2, 8)}`,
    deadline: monotonicMs() + opts.holdMs + opts.graceMs,
  };
  const target = formatOwner(me);
  let tookOver: string | undefined;
  for (let round = 0; round < 5; round++) {
    try {
      await bounded('lock', path, WRITE_MS, () => fsp.symlink(target, path));
      const lock = held(path, me, opts.log);
      return tookOver === undefined ? lock : { ...lock, tookOver };
    } catch (e) {
      if ((e as FileError).errno !== 'EEXIST') throw lockFailed(path, e);
    }
    const owner = await readOwner(path).catch((e: unknown) => {
      throw lockFailed(path, e);
    });
    if (owner === undefined) continue; // released meanwhile
    const holder = judgeOwner(owner, boundMs);
    if (holder === 'alive') throw new LockedError(path, describe(owner));
    if (holder === 'overdue' && owner !== null && owner.start !== null && processExe(owner.pid) === processExe(process.pid)) {
      // proved by start time and executable: it is the stuck holder, not a stranger that got its pid
      opts.log.error(`lock ${path}: ${describe(owner)} is past its deadline; killing it and taking the lock over`);
      try {
        process.kill(owner.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    const what = await takeOver(path, owner, opts.log).catch((e: unknown) => {
      throw lockFailed(path, e);
    });
    tookOver = what ?? tookOver;
  }
  throw new LockedError(path, 'taken by others faster than this run could take it');
}

/**
 * Remove a lock judged dead, unless it changed meanwhile (then another process holds a new one: put it back). Returns
 * what it removed, in words, or null.
 */
async function takeOver(path: string, judged: LockOwner | null, log: Log): Promise<string | null> {
  const aside = `${path}.${process.pid}.stale`;
  const moved = await bounded('take over lock', path, WRITE_MS, async () => {
    try {
      await fsp.rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // another taker removed it first
      throw e;
    }
    return true;
  });
  if (!moved) return null;
  let removed: string | null = null;
  const was = await readOwner(aside).catch(() => null);
  if (judged !== null && was?.nonce !== judged.nonce) {
    // a fresh lock, taken after we judged: give it back (if a third process holds the name now, the one we moved
    // finds its lock lost before touching a route)
    await bounded('give back lock', path, WRITE_MS, () => fsp.link(aside, path)).catch(() => undefined);
  } else {
    const what = judged === null ? 'what was no lock of this agent (forged, damaged, or another format)' : `${describe(judged)}, which is gone`;
    log.warn(`lock ${path}: taken over from ${what}`);
    if (judged !== null) removed = what;
  }
  await bounded('remove stale lock', aside, WRITE_MS, () => fsp.unlink(aside)).catch(() => undefined);
  return removed;
}

function held(path: string, me: LockOwner, log: Log): PassLock {
  return {
    async assertHeld() {
      // a lock that cannot be read (its directory hangs) is not taken from us by that: only another owner is
      const now = await readOwner(path).catch(() => me);
      if (now?.nonce !== me.nonce) throw new LockLostError(path, `now ${now ? describe(now) : 'none'}`);
    },
    async release() {
      try {
        const now = await readOwner(path);
        if (now?.nonce !== me.nonce) {
          log.warn(`lock ${path} is no longer this process's (${now ? describe(now) : 'none'}); left as it is`);
          return;
        }
        await bounded('release lock', path, WRITE_MS, () => fsp.unlink(path));
      } catch (e) {
        log.warn(`releasing lock ${path} failed: ${(e as Error).message}`);
      }
    },
  };
}
