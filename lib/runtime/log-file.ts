// The log file, shared by every agent process on the host (the long-lived runner, `reroute route` by hand, the next
// minute's runner starting up). Each chunk of lines is one append (O_APPEND: whole lines, never interleaved).
// Rotation renames log -> log.1 -> ... under a lock of its own, after checking the size again, so two processes never
// both rotate; a process whose file was rotated away by another reopens the new one at its next line.
//
// Lines are written off the main thread, one chunk at a time, each within a bound (runtime/files.ts): the log lives
// on /scratch, and a log that hangs or is full must not stop failover. Lines wait in memory meanwhile, at most
// MAX_QUEUED_BYTES (the oldest are dropped beyond that, and counted in a line once writing works again); a chunk
// whose write hung is written again later, so after a hang a line may appear twice, never be lost unsaid.
//
// The file is opened for each chunk and closed after it, never held: a process that holds a descriptor on a file
// system that stopped answering cannot start a command. Each child inherits the descriptor until its exec closes it,
// and a close on FUSE or NFS waits for the file system (flush), so the exec waits and so does the parent, whose
// libuv waits on the main thread for the exec to succeed: no `ip`, no route change (issue 26, case 5).
import { constants, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { bounded, hangsIn, WRITE_MS } from './files';
import { acquireLock } from './lock';
import { silentLog } from './log';

export interface LogFileOptions {
  file: string;
  /** rotate when a line would take the file past this size, bytes */
  maxBytes: number;
  /** files kept, the live one included */
  maxFiles: number;
  /** told when a chunk could not be written (once per problem a minute is the caller's to judge) */
  onError?: (e: Error, text: string) => void;
  /** the line that says how many lines were dropped while the log could not be written */
  lostLine?: (count: number) => string;
}

/** Lines kept in memory while the file cannot be written. */
const MAX_QUEUED_BYTES = 256 * 1024;

export class LogFile {
  private queue: string[] = [];
  private queuedBytes = 0;
  private lost = 0;
  private writing: Promise<void> | null = null;

  constructor(private readonly opts: LogFileOptions) {}

  /** Queue `text` (whole lines) for the file. */
  append(text: string): void {
    this.queue.push(text);
    this.queuedBytes += text.length;
    while (this.queuedBytes > MAX_QUEUED_BYTES && this.queue.length > 1) {
      this.queuedBytes -= this.queue.shift()!.length;
      this.lost++;
    }
    this.kick();
  }

  /** Lines not written yet (waiting, or their write hung). */
  pending(): number {
    return this.queue.length;
  }

  /** Resolves when everything queued so far is written or has failed (a caller bounds the wait). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (hangsIn(this.opts.file)) {
        setTimeout(() => this.kick(), 1000).unref(); // try again once the hung write ends
        return;
      }
      const lostNow = this.lost;
      const lines = [...(lostNow > 0 && this.opts.lostLine ? [this.opts.lostLine(lostNow)] : []), ...this.queue];
      const taken = this.queue.length;
      try {
        await bounded('log', this.opts.file, WRITE_MS, () => this.write(lines));
        this.lost -= lostNow;
      } catch (e) {
        if ((e as { hangs?: boolean }).hangs) continue; // kept: written once the file system answers
        this.opts.onError?.(e as Error, lines.join(''));
        this.lost -= lostNow; // they were reported with the error
      }
      const done = this.queue.splice(0, taken);
      this.queuedBytes -= done.reduce((n, t) => n + t.length, 0);
    }
  }

  private async open(): Promise<fsp.FileHandle> {
    await fsp.mkdir(dirname(this.opts.file), { recursive: true });
    return fsp.open(this.opts.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
  }

  /** Append `lines`, as few writes as fit under maxBytes, rotating first whenever the next line would not fit. */
  private async write(lines: string[]): Promise<void> {
    let fh = await this.open();
    try {
      let size = (await fh.stat()).size;
      for (let i = 0; i < lines.length; ) {
        let chunk = '';
        let bytes = 0;
        for (; i < lines.length; i++) {
          const n = Buffer.byteLength(lines[i]!);
          if (size + bytes > 0 && size + bytes + n > this.opts.maxBytes) break;
          chunk += lines[i];
          bytes += n;
        }
        if (bytes === 0) {
          await this.rotate((await fh.stat()).ino);
          const old = fh;
          fh = await this.open();
          await old.close();
          size = (await fh.stat()).size;
          if (size > 0) continue; // another process wrote the new file meanwhile: fit against it
          chunk = lines[i]!; // a line larger than maxBytes goes alone into a file of its own
          bytes = Buffer.byteLength(chunk);
          i++;
        }
        const buf = Buffer.from(chunk);
        for (let off = 0; off < buf.length; ) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off);
          if (bytesWritten <= 0) throw Object.assign(new Error(`wrote ${off} of ${buf.length} bytes`), { code: 'ENOSPC' });
          off += bytesWritten;
        }
        size += bytes;
      }
    } finally {
      await fh.close();
    }
  }

  /** Rotate the file whose inode is `full`, unless another process did meanwhile. */
  private async rotate(full: number): Promise<void> {
    const { file, maxFiles } = this.opts;
    let lock;
    try {
      lock = await acquireLock(`${file}.rotate.lock`, { holdMs: 5000, graceMs: 1000, log: silentLog });
    } catch {
      return; // another process is rotating: this line goes to whichever file is live
    }
    try {
      const st = await fsp.stat(file).catch(() => null);
      if (st === null || st.ino !== full) return; // rotated by another process since this one looked
      if (maxFiles <= 1) {
        await fsp.unlink(file);
        return;
      }
      for (let i = maxFiles - 1; i >= 1; i--) {
        const from = i === 1 ? file : `${file}.${i - 1}`;
        await fsp.rename(from, `${file}.${i}`).catch(() => undefined); // a gap in the series
      }
    } finally {
      await lock.release();
    }
  }

  /** Let what is queued be written (the file is held open only while a chunk is written). */
  close(): void {
    void this.flush().catch(() => undefined);
  }
}
