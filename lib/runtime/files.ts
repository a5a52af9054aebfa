// The agent's file operations, the one place they are made. Two kinds:
//
// - Bounded (async): what the long-lived runner does every pass (the state file, the record, the locks, the hand-over
//   files, the log). Each runs on libuv's threadpool, never on the main thread, and is given up after its time: a
//   hung file system (an SD card or USB stick that stopped answering under /scratch, NFS) must not stop failover.
//   Linux keeps a thread whose request a FUSE or NFS server has taken in uninterruptible sleep (SIGKILL included)
//   until it is answered, so a given-up operation parks its thread for as long as that lasts: no further operation
//   is started in that directory until it ends (at most one parked thread per directory), and the process knows it
//   cannot exit meanwhile (Node joins its threadpool at exit): stuckFileOps().
// - Plain (sync): one-shot commands a person runs (install, uninstall), where a hang is seen and dealt with.
//
// Both write a file whole or not at all: a temp file beside it, every byte written (a short write is written on, and
// a write that makes no progress is an error; field incident: 4096 bytes of a state file replaced the whole file on a
// nearly full disk), then a rename. Reads open with O_NONBLOCK | O_NOFOLLOW and take only a regular file: a FIFO or
// a device put in a file's place, or a symlink into another file system, is an error at once, never a read that waits.
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  promises as fsp,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileError } from '../errors';

export interface AtomicWriteOptions {
  /** mode of a new file (an existing one keeps its own when keepMode) */
  mode: number;
  /** an existing file keeps its mode and owner (ESXi's local.sh is 1755 root: the sticky bit puts it in the backup) */
  keepMode?: boolean;
  /** mode of a directory created on the way */
  dirMode?: number;
  /** fsync the file before the rename and the directory after it, so the new file survives a power cut */
  durable?: boolean;
}

/** How long a bounded operation may take before it is given up, ms. */
export const READ_MS = 1000;
export const WRITE_MS = 3000;

/** Temp file beside `file`: its name starts with a dot, which cron.d readers and crond skip. */
export function tempPathFor(file: string, pid = process.pid): string {
  return join(dirname(file), `.${basename(file)}.${pid}.tmp`);
}

/** Write all of `buf` to `fd` (sync): a short write goes on from where it stopped; no progress is an error. */
function writeAllSync(fd: number, buf: Buffer, file: string): void {
  for (let off = 0; off < buf.length; ) {
    const n = writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw new FileError(file, 'write', 'ENOSPC', `wrote ${off} of ${buf.length} bytes`);
    off += n;
  }
}

/** Write `text` to `file` through a temp file and a rename (sync). Throws the fs error; the temp file is removed. */
export function writeFileAtomic(file: string, text: string | Buffer, opts: AtomicWriteOptions): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: opts.dirMode ?? 0o755 });
  let mode = opts.mode;
  let owner: { uid: number; gid: number } | null = null;
  if (opts.keepMode) {
    try {
      const st = statSync(file);
      mode = st.mode & 0o7777;
      owner = { uid: st.uid, gid: st.gid };
    } catch {
      // a new file
    }
  }
  const tmp = tempPathFor(file);
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAllSync(fd, typeof text === 'string' ? Buffer.from(text) : text, tmp);
      if (opts.durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode);
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw e;
  }
  if (opts.durable) {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

// ---- bounded operations ------------------------------------------------------------------------------------------

interface Stuck {
  op: string;
  path: string;
  since: number;
}

/** Directories with an operation given up and not yet answered, by directory. */
const stuck = new Map<string, Stuck>();

/** The operations given up and still unanswered: while there is one, the process cannot exit (see above). */
export function stuckFileOps(): { op: string; path: string; forMs: number }[] {
  const now = performance.now();
  return [...stuck.values()].map((s) => ({ op: s.op, path: s.path, forMs: Math.round(now - s.since) }));
}

/** Whether a bounded operation in `path`'s directory would be refused now (one there still hangs). */
export function hangsIn(path: string): boolean {
  return stuck.has(dirname(path));
}

const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? 'EIO';

/** A step of a bounded operation that was given up: it stops at its next step. */
class Abandoned extends Error {}

/**
 * Run `fn` (its steps check `live()` between them) within `ms`; past that, reject with a FileError "hangs" and keep
 * the directory marked until `fn` ends. Refused at once while another operation in the directory hangs.
 */
export function bounded<T>(op: string, path: string, ms: number, fn: (live: () => void) => Promise<T>): Promise<T> {
  const dir = dirname(path);
  const hung = stuck.get(dir);
  if (hung) {
    const secs = Math.round((performance.now() - hung.since) / 1000);
    return Promise.reject(new FileError(path, op, 'EHANG', `${hung.op} ${hung.path} has hung for ${secs} s`));
  }
  let given = false;
  const live = () => {
    if (given) throw new Abandoned();
  };
  const mark: Stuck = { op, path, since: performance.now() };
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      given = true;
      stuck.set(dir, mark);
      reject(new FileError(path, op, 'EHANG', `no answer in ${ms} ms`));
    }, ms);
    fn(live).then(
      (v) => {
        clearTimeout(timer);
        if (given) stuck.delete(dir);
        else resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (given) stuck.delete(dir);
        else reject(e instanceof FileError ? e : new FileError(path, op, errnoOf(e), (e as Error).message));
      },
    );
  });
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
/** The largest file the agent reads back (its own files are a few KB). */
const MAX_READ_BYTES = 4 << 20;

/** A file's text, or null when there is none. Only a regular file is read (see above). */
export function readText(path: string, ms = READ_MS): Promise<string | null> {
  return bounded('read', path, ms, async (live) => {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, READ_FLAGS);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return null;
      if (errnoOf(e) === 'ELOOP') throw new FileError(path, 'read', 'ENOTREG', 'a symlink, not a file of the agent');
      throw e;
    }
    try {
      live();
      const st = await fh.stat();
      if (!st.isFile()) throw new FileError(path, 'read', 'ENOTREG', 'not a regular file');
      if (st.size > MAX_READ_BYTES) throw new FileError(path, 'read', 'EFBIG', `${st.size} bytes`);
      live();
      const buf = Buffer.alloc(st.size + 1);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
        live();
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got === buf.length) throw new FileError(path, 'read', 'EFBIG', 'grew while read');
      }
      return buf.subarray(0, got).toString('utf8');
    } finally {
      await fh.close().catch(() => undefined);
    }
  });
}

/** A file's stat (not following a symlink), or null when there is none. */
export function statFile(path: string, ms = READ_MS): Promise<Stats | null> {
  return bounded('stat', path, ms, async () => {
    try {
      return await fsp.lstat(path);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return null;
      throw e;
    }
  });
}

/** The names in a directory ([] when there is none). */
export function listDir(dir: string, ms = READ_MS): Promise<string[]> {
  return bounded('list', join(dir, '.'), ms, async () => {
    try {
      return await fsp.readdir(dir);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw e;
    }
  });
}

/** Remove a file; true when it was there. */
export function removeFile(path: string, ms = WRITE_MS): Promise<boolean> {
  return bounded('remove', path, ms, async () => {
    try {
      await fsp.unlink(path);
      return true;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return false;
      throw e;
    }
  });
}

/** Rename a file (within its directory). */
export function renameFile(from: string, to: string, ms = WRITE_MS): Promise<void> {
  return bounded('rename', from, ms, () => fsp.rename(from, to));
}

/** Make a directory and its parents. */
export function makeDir(dir: string, mode: number, ms = WRITE_MS): Promise<void> {
  return bounded('mkdir', join(dir, '.'), ms, async () => {
    await fsp.mkdir(dir, { recursive: true, mode });
  });
}

/**
 * Write `text` to `file` whole, through a temp file and a rename, within `ms`; the temp file is removed on any
 * failure (and by the operation itself if it was given up and ends later).
 */
export function writeFileBounded(file: string, text: string, opts: AtomicWriteOptions, ms = WRITE_MS): Promise<void> {
  const dir = dirname(file);
  const tmp = tempPathFor(file);
  const buf = Buffer.from(text);
  return bounded('write', file, ms, async (live) => {
    await fsp.mkdir(dir, { recursive: true, mode: opts.dirMode ?? 0o755 });
    live();
    let renamed = false;
    try {
      const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
      try {
        for (let off = 0; off < buf.length; ) {
          live();
          const { bytesWritten } = await fh.write(buf, off, buf.length - off);
          if (bytesWritten <= 0) throw new FileError(file, 'write', 'ENOSPC', `wrote ${off} of ${buf.length} bytes`);
          off += bytesWritten;
        }
        live();
        if (opts.durable) await fh.sync();
        await fh.chmod(opts.mode);
      } finally {
        await fh.close().catch(() => undefined);
      }
      live();
      await fsp.rename(tmp, file);
      renamed = true;
    } finally {
      if (!renamed) await fsp.unlink(tmp).catch(() => undefined);
    }
    if (opts.durable) {
      live();
      const dh = await fsp.open(dir, constants.O_RDONLY);
      try {
        await dh.sync();
      } finally {
        await dh.close().catch(() => undefined);
      }
    }
  });
}
