// The only winston import. One plain-text line per event, greppable by support:
//   [PID:2631427] 2026-11-25 16:40:01 +0800 INFO trying to add route from 192.168.33.2 to 10.10.85.16
// winston and its file stream cost a pass about 6 ms to load and open: the log takes lines from the start, holds them
// with their time, and loads winston when the pass has its ICMP sweep in flight (attach) or at the latest when it
// flushes at exit.
import { mkdirSync, lstatSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type Winston from 'winston';
import type { Log, LogLevel } from './log';
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
}

export interface FileLog extends Log {
  /** Open the file now (loads winston) and write the lines held so far; later lines follow in the next loop turn. */
  attach(): void;
  /** Wait until every line is on disk (attaching first if need be); call before the process exits. */
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

/** A line logged before the file was open: kept with the time it happened. */
interface Held {
  level: LogLevel;
  message: string;
  ctx: Record<string, unknown> | undefined;
  at: Date;
}

/** Where lines go once the log is attached. */
interface Sink {
  write(h: Held): void;
  /** resolves when every line written so far is on disk */
  end(): Promise<void>;
}

function fileSink(opts: LoggerOptions): Sink {
  // Loaded here, not at the top: this is the part of the log a pass pays for only once its sweep is in flight.
  const winston = require('winston') as typeof Winston;
  mkdirSync(dirname(opts.file), { recursive: true });
  const lineFormat = winston.format.printf((info) => {
    const { level, message, ctx, at } = info as unknown as {
      level: string;
      message: string;
      ctx?: Record<string, unknown>;
      at?: Date;
    };
    return formatLine(level, message, ctx, at);
  });
  const file = new winston.transports.File({
    filename: opts.file,
    maxsize: opts.maxBytes,
    maxFiles: opts.maxFiles,
    // Without tailable, size rotation across short-lived runs loses lines (measured); with it the live file keeps
    // its name and older ones shift to .1, .2, ...
    tailable: true,
    format: lineFormat,
  });
  const transports: Winston.transport[] = [file];
  if (opts.echo) transports.push(new winston.transports.Stream({ stream: guardedStderr(), format: lineFormat }));
  const logger = winston.createLogger({ level: opts.level, transports, exitOnError: false });
  return {
    write: (h) => logger.log({ level: h.level, message: h.message, ctx: h.ctx, at: h.at }),
    end: () =>
      new Promise<void>((resolve) => {
        // winston drops buffered lines when the process exits before the file stream finishes: wait for the file
        // transport itself, not the logger.
        const done = () => resolve();
        file.once('finish', done);
        file.once('error', done);
        logger.end();
        setTimeout(done, 2000).unref();
      }),
  };
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Lines on stderr, for a log file that cannot be opened: the pass still reroutes (its job), and says why here. */
function stderrSink(level: LogLevel): Sink {
  return {
    write: (h) => {
      if (RANK[h.level] <= RANK[level]) writeErr(formatLine(h.level, h.message, h.ctx, h.at) + '\n');
    },
    end: () => Promise.resolve(),
  };
}

/** Open the agent's log: lines are taken at once, the file is written from attach() (or flush()) on. */
export function openLog(opts: LoggerOptions): FileLog {
  const held: Held[] = [];
  let sink: Sink | null = null;
  // Once attached, lines go to winston in the next turn of the event loop, not in the caller's: formatting and
  // writing one costs about 0.4 ms, and the pass's steps after its sweep (decide, heartbeat) should not wait for it.
  let draining = false;
  const drain = () => {
    draining = false;
    if (sink) for (const h of held.splice(0)) sink.write(h);
  };
  const at =
    (level: LogLevel) =>
    (message: string, ctx?: Record<string, unknown>): void => {
      if (RANK[level] > RANK[opts.level]) return; // below the level: dropped here, not in winston's pipeline
      held.push({ level, message, ctx, at: new Date() });
      if (sink && !draining) {
        draining = true;
        setImmediate(drain);
      }
    };
  const log: FileLog = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    attach() {
      if (sink) return;
      try {
        sink = fileSink(opts);
      } catch (e) {
        sink = stderrSink(opts.level);
        writeErr(
          `reroute: cannot open log file ${opts.file} (${(e as Error).message}): logging to stderr; check paths.log and its directory\n`,
        );
      }
      if (opts.link) {
        const problem = ensureLink(opts.file, opts.link);
        if (problem) held.push({ level: 'warn', message: problem, ctx: undefined, at: new Date() });
      }
      drain();
    },
    flush() {
      log.attach();
      drain();
      return sink!.end();
    },
  };
  return log;
}
