// The only winston import (loaded at the first line written). One plain-text line per event, greppable by support:
//   [PID:2631427] 2026-11-25 16:40:01 +0800 INFO trying to add route from 192.168.33.2 to 10.10.85.16
// winston takes the lines and their level; the file itself is written by LogFile (log-file.ts), which several agent
// processes can share and rotate safely.
import { lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type * as Winston from 'winston';
import type TransportStreamClass from 'winston-transport';
import type { Log, LogLevel } from './log';
import { LogFile } from './log-file';
import { due } from '../rate';
import { guardedStderr, writeErr } from './stdio';

export interface LoggerOptions {
  file: string;
  /** symlink to the file (where support looks), created or repaired at start; null for none */
  link: string | null;
  level: LogLevel;
  maxBytes: number;
  maxFiles: number;
  /** also echo to stderr (--verbose) */
  echo: boolean;
  /** a warning or error the same as one logged less than this long ago goes to debug: an outage is not a line every
   * pass; info lines (a route change is one) are never held back, ms */
  repeatMs?: number;
}

export interface FileLog extends Log {
  /** Wait until every line is written; call before the process exits. */
  flush(): Promise<void>;
}

const SECRET_KEYS = /token|password|secret|credential/i;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Local time with its zone offset, e.g. "2026-11-25 16:40:01 +0800". */
export function localTimestamp(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** key=value pairs for a context object; secrets are masked whatever the caller passed. */
export function formatContext(context: Record<string, unknown> | undefined): string {
  if (!context) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(context)) {
    if (v === undefined) continue;
    const shown = SECRET_KEYS.test(k) ? '***' : typeof v === 'string' ? v : JSON.stringify(v);
    parts.push(`${k}=${shown?.includes(' ') ? JSON.stringify(shown) : shown}`);
  }
  return parts.length ? ' ' + parts.join(' ') : '';
}

/** One log line without its newline. */
export function formatLine(level: string, message: string, context?: Record<string, unknown>, at = new Date()): string {
  const oneLine = message.replace(/\s*\n\s*/g, ' | ');
  return `[PID:${process.pid}] ${localTimestamp(at)} ${level.toUpperCase()} ${oneLine}${formatContext(context)}`;
}

/** Create or repair the support symlink; a failure is reported, never fatal. */
function ensureLink(file: string, link: string): string | null {
  try {
    let current: string | null = null;
    try {
      if (lstatSync(link).isSymbolicLink()) current = readlinkSync(link);
      else return `${link} exists and is not a symlink; left as it is`;
    } catch {
      current = null;
    }
    if (current === file) return null;
    if (current !== null) unlinkSync(link);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(file, link);
    return null;
  } catch (e) {
    return `cannot create log link ${link} -> ${file}: ${(e as Error).message}`;
  }
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * winston and its transports, made at the first line the level lets through: a pass that writes none (a steady
 * one-pass `loop`) does not load winston, 7 ms of its start (BENCHMARKS.md, "One pass").
 */
function createWinston(file: LogFile, opts: LoggerOptions): Winston.Logger {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const winston = require('winston') as typeof Winston;
  const TransportStream = require('winston-transport') as typeof TransportStreamClass;
  /* eslint-enable @typescript-eslint/no-require-imports */

  /** winston's way to a LogFile: one append per line. */
  class LogFileTransport extends TransportStream {
    constructor(private readonly logFile: LogFile) {
      super();
    }

    override log(info: { [key: symbol]: unknown }, done: () => void): void {
      this.logFile.append(`${String(info[Symbol.for('message')])}\n`);
      done();
    }

    override close(): void {
      this.logFile.close();
    }
  }

  const stderr = () => new winston.transports.Stream({ stream: guardedStderr() });
  const transports: Winston.transport[] = [new LogFileTransport(file)];
  if (opts.echo) transports.push(stderr());
  const format = winston.format.printf((info) => {
    const { level, message, ctx } = info as unknown as { level: string; message: string; ctx?: Record<string, unknown> };
    return formatLine(level, message, ctx);
  });
  return winston.createLogger({ level: opts.level, format, transports, exitOnError: false });
}

/**
 * Open the agent's log. A file that cannot be opened (a full or read-only disk, a file where the directory should be)
 * never stops a pass: its lines go to stderr, after one line saying why.
 */
export function openLog(opts: LoggerOptions): FileLog {
  // A log that cannot be written (a full or read-only disk, a file where the directory should be, a disk that hangs)
  // never stops a pass: its lines go to stderr, after a line saying why (again when the reason changes).
  let said = '';
  const file = new LogFile({
    ...opts,
    onError: (e, text) => {
      const code = (e as { errno?: string; code?: string }).errno ?? (e as { code?: string }).code ?? e.message;
      const why = `reroute: cannot write log file ${opts.file} (${code}): its lines go to stderr; check paths.log and its disk\n`;
      if (why !== said) writeErr(why);
      said = why;
      writeErr(text);
    },
    lostLine: (n) => `${formatLine('warn', `${n} log lines were dropped while ${opts.file} could not be written`)}\n`,
  });
  let logger: Winston.Logger | null = null;
  const lastSaid = new Map<string, number>();
  const at =
    (level: LogLevel) =>
    (message: string, ctx?: Record<string, unknown>): void => {
      let as = level;
      if ((level === 'warn' || level === 'error') && opts.repeatMs) {
        const now = performance.now();
        if (!due(lastSaid.get(message), now, opts.repeatMs)) as = 'debug';
        else {
          if (lastSaid.size > 1000) lastSaid.clear(); // a long-lived process: memory for lines of the last minute only
          lastSaid.set(message, now);
        }
      }
      if (RANK[as] > RANK[opts.level]) return;
      (logger ??= createWinston(file, opts)).log({ level: as, message, ctx });
    };
  const log: FileLog = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    flush: () =>
      new Promise<void>((resolve) => {
        if (logger === null) {
          file.close();
          resolve();
          return;
        }
        // winston hands lines to its transports asynchronously: wait until every transport has had its last, and the
        // file has written them (the caller bounds the wait: a log that hangs must not keep a process from ending)
        const transports = logger.transports;
        let open = transports.length;
        const done = () => {
          if (--open === 0) void file.flush().then(() => resolve());
        };
        for (const t of transports) t.once('finish', done);
        logger.end();
        setTimeout(resolve, 2000).unref();
      }),
  };
  if (opts.link) {
    const problem = ensureLink(opts.file, opts.link);
    if (problem) log.warn(problem);
  }
  return log;
}
