// Replacing a file whole: a reader (a pass, crond, a support engineer) sees the old file or the new one, never half
// of one. The one atomic-write helper of the agent.
import { chmodSync, chownSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

/** Temp file beside `file`: its name starts with a dot, which cron.d readers and crond skip. */
export function tempPathFor(file: string, pid = process.pid): string {
  return join(dirname(file), `.${basename(file)}.${pid}.tmp`);
}

/** Write `text` to `file` through a temp file and a rename. Throws the fs error; the temp file is removed. */
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
      if (typeof text === 'string') writeSync(fd, text);
      else writeSync(fd, text);
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
