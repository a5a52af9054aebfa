// I/O for the state file: atomic writes (temp in the same directory, fsync, rename, fsync dir; the last step may be
// left to the filesystem when only the pass's record changed), mode 0600 (it may hold the API token). A corrupt file
// is moved aside with a timestamp, never deleted, and the pass goes on.
import {
  closeSync,
  fsync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateError } from '../errors';
import type { Log } from '../runtime/log';
import { initialState, parseState, type State } from './schema';

export interface LoadedState {
  state: State;
  /** true when there was no state file: a first run */
  firstRun: boolean;
  /** where a corrupt file was moved, if it was */
  movedAside: string | null;
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

/** Read the state; never throws for a missing or corrupt file. */
export function loadState(path: string, log: Log, now = new Date()): LoadedState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: initialState(), firstRun: true, movedAside: null };
    return moveAside(path, `unreadable (${code})`, log, now);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return moveAside(path, `not valid JSON (${(e as Error).message})`, log, now);
  }
  const parsed = parseState(raw);
  if (!parsed.ok) return moveAside(path, `not a reroute state (${parsed.problem})`, log, now);
  for (const slice of parsed.resetSlices) {
    log.warn(`state file ${path}: the "${slice}" part was invalid and has been reset; the rest is kept`);
  }
  return { state: parsed.state, firstRun: false, movedAside: null };
}

/**
 * Remove the temp files of state writes whose process is gone: a pass killed in the middle of its write (by its
 * deadline, or kill -9), or a power cut before the rename reached the disk. Call with the lock held.
 */
export function removeStaleTemps(path: string, log: Log): void {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no directory yet: nothing left behind
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      log.info(`removed ${join(dir, name)}, left by a pass (pid ${pid}) that did not finish writing the state`);
    } catch {
      // gone already, or not ours to remove: the next pass tries again
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function moveAside(path: string, why: string, log: Log, now: Date): LoadedState {
  const aside = join(dirname(path), `${basename(path)}.corrupt-${stamp(now)}`);
  try {
    renameSync(path, aside);
    log.error(`state file ${path} is ${why}; kept as ${aside} and rebuilt from scratch`);
    return { state: initialState(), firstRun: true, movedAside: aside };
  } catch (e) {
    log.error(`state file ${path} is ${why} and could not be moved aside (${(e as Error).message}); rebuilt in memory`);
    return { state: initialState(), firstRun: true, movedAside: null };
  }
}

/** The state file's text for `state`. */
export function stateText(state: State): string {
  return JSON.stringify(state) + '\n';
}

function tmpPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

function writeFailed(path: string, tmp: string, e: unknown): StateError {
  try {
    unlinkSync(tmp);
  } catch {
    // nothing to clean
  }
  return new StateError(`cannot write state file ${path}: ${(e as Error).message}; check the disk and its permissions`, {
    path,
  });
}

/**
 * Write `text` (from stateText) atomically with mode 0600: temp file, fsync, rename, fsync of the directory. Throws
 * StateError when it cannot.
 */
export function writeStateText(path: string, text: string): void {
  const tmp = tmpPathFor(path);
  try {
    const dfd = replaceFile(path, tmp, text);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (e) {
    throw writeFailed(path, tmp, e);
  }
}

/** A state write in the background (writeStateTextInBackground). */
export interface BackgroundWrite {
  /** true once the new file has replaced the old one (others may read it); false when the write failed before */
  inPlace: Promise<boolean>;
  /** resolves once the replacement is durable (the directory fsynced, when asked); rejects with StateError */
  durable: Promise<void>;
}

/**
 * writeStateText with its fsyncs on libuv's thread pool, so the event loop goes on (a pass answers its heartbeat
 * meanwhile). With syncDir false the rename is left to the filesystem's next commit (ext4: within 5 s): a power cut
 * before it finds the previous file, whole.
 */
export function writeStateTextInBackground(path: string, text: string, syncDir = true): BackgroundWrite {
  const dir = dirname(path);
  const tmp = tmpPathFor(path);
  const syncAndClose = (fd: number) =>
    new Promise<void>((resolve, reject) =>
      fsync(fd, (err) => {
        try {
          closeSync(fd);
        } catch {
          // the fsync's verdict is what counts
        }
        if (err) reject(err);
        else resolve();
      }),
    );
  let placed: (ok: boolean) => void = () => undefined;
  const inPlace = new Promise<boolean>((resolve) => (placed = resolve));
  const steps = async () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    await syncAndClose(fd);
    renameSync(tmp, path);
    placed(true);
    if (syncDir) await syncAndClose(openSync(dir, 'r'));
  };
  const durable = steps().catch((e: unknown) => {
    placed(false);
    throw writeFailed(path, tmp, e);
  });
  durable.catch(() => undefined); // a caller that only looks at inPlace must not leave it unhandled
  return { inPlace, durable };
}

/** Temp file, fsync, rename over `path`; returns the directory, opened for its fsync. */
function replaceFile(path: string, tmp: string, text: string): number {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return openSync(dir, 'r');
}
