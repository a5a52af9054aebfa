// The log file, shared by every agent process on the host (the long-lived runner, `reroute route` by hand, the next
// minute's runner starting up). Each line is one append (O_APPEND: whole lines, never interleaved). Rotation renames
// log -> log.1 -> ... under a lock of its own, after checking the size again, so two processes never both rotate;
// a process whose file was rotated away by another reopens the new one at its next line. No line is lost: a line
// written to a file just rotated lands in log.1.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { acquireLock } from './lock';
import { silentLog } from './log';

export interface LogFileOptions {
  file: string;
  /** rotate when a line would take the file past this size, bytes */
  maxBytes: number;
  /** files kept, the live one included */
  maxFiles: number;
}

export class LogFile {
  private fd: number | null = null;

  constructor(private readonly opts: LogFileOptions) {
    mkdirSync(dirname(opts.file), { recursive: true });
    this.open();
  }

  private open(): number {
    this.fd = openSync(this.opts.file, 'a', 0o644);
    return this.fd;
  }

  /** The fd of the file now at the path (another process may have rotated ours away, or removed it). */
  private current(): number {
    if (this.fd === null) return this.open();
    try {
      if (statSync(this.opts.file).ino === fstatSync(this.fd).ino) return this.fd;
    } catch {
      // gone: start a new one
    }
    closeSync(this.fd);
    return this.open();
  }

  /** Append `text` (whole lines), rotating first when it would not fit. */
  append(text: string): void {
    let fd = this.current();
    const st = fstatSync(fd);
    if (st.size > 0 && st.size + Buffer.byteLength(text) > this.opts.maxBytes) {
      this.rotate(st.ino);
      fd = this.current();
    }
    writeSync(fd, text);
  }

  /** Rotate the file whose inode is `full`, unless another process did meanwhile. */
  private rotate(full: number): void {
    const { file, maxFiles } = this.opts;
    let lock;
    try {
      lock = acquireLock(`${file}.rotate.lock`, { holdMs: 5000, graceMs: 1000, log: silentLog });
    } catch {
      return; // another process is rotating: this line goes to whichever file is live
    }
    try {
      try {
        if (statSync(file).ino !== full) return; // rotated by another process since this one looked
      } catch {
        return; // moved away already
      }
      if (maxFiles <= 1) {
        unlinkSync(file);
        return;
      }
      for (let i = maxFiles - 1; i >= 1; i--) {
        const from = i === 1 ? file : `${file}.${i - 1}`;
        try {
          renameSync(from, `${file}.${i}`);
        } catch {
          // a gap in the series
        }
      }
    } finally {
      lock.release();
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
