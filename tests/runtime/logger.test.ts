// The log: lines are taken from the start of a run, held with the time they happened until the file is opened
// (winston loads while the ICMP sweep is in flight), and written in order. A log that cannot be opened never stops
// a pass: its lines go to stderr with one line saying why.
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { openLog, type LoggerOptions } from '../../lib/runtime/logger';

let dir: string;
const opts = (over: Partial<LoggerOptions> = {}): LoggerOptions => ({
  file: join(dir, 'log', 'scvm_failure.log'),
  link: null,
  level: 'info',
  maxBytes: 1 << 20,
  maxFiles: 3,
  echo: false,
  ...over,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const stamp = /^\[PID:\d+\] (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) [+-]\d{4} /;

describe('openLog', () => {
  it('holds lines until attach, then writes them in order with the time they were logged', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-25T03:00:00Z'), doNotFake: ['setTimeout', 'setImmediate', 'nextTick', 'queueMicrotask'] });
    const log = openLog(opts());
    log.info('first');
    log.debug('below the level: dropped');
    jest.setSystemTime(new Date('2026-11-25T03:00:07Z'));
    log.warn('second', { target: '10.10.85.16', password: 'x' });
    jest.useRealTimers();
    expect(() => readFileSync(opts().file)).toThrow(/ENOENT/); // nothing written before attach
    log.attach();
    log.error('third');
    await log.flush();
    const lines = readFileSync(opts().file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => l.replace(stamp, ''))).toEqual([
      'INFO first',
      'WARN second target=10.10.85.16 password=***',
      'ERROR third',
    ]);
    const [t1, t2] = lines.map((l) => stamp.exec(l)![1]!);
    const seconds = (t: string) => Number(t.slice(-2));
    expect(seconds(t2!) - seconds(t1!)).toBe(7); // held lines keep their own time, not the time of attach
  });

  it('after attach a line reaches the file in the next event-loop turn, not in the caller\'s, and flush takes the rest', async () => {
    const log = openLog(opts());
    log.attach();
    const seen: string[] = [];
    const file = opts().file;
    // winston's file transport is the only writer: watch what it is given, and when
    const spy = jest.spyOn(winston.transports.File.prototype, 'log');
    try {
      log.info('decided');
      seen.push(`after info: ${spy.mock.calls.length}`);
      await new Promise((r) => setImmediate(r));
      seen.push(`next turn: ${spy.mock.calls.length}`);
      log.info('heartbeat sent');
      await log.flush();
      seen.push(`after flush: ${spy.mock.calls.length}`);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual(['after info: 0', 'next turn: 1', 'after flush: 2']);
    expect(readFileSync(file, 'utf8').replace(new RegExp(stamp.source, 'gm'), '')).toBe('INFO decided\nINFO heartbeat sent\n');
  });

  it('flush opens the file when attach was never called, and creates the support link', async () => {
    const link = join(dir, 'var-log', 'scvm_failure.log');
    const log = openLog(opts({ link }));
    log.info('only line');
    await log.flush();
    expect(readFileSync(opts().file, 'utf8')).toMatch(/INFO only line\n$/);
    expect(readlinkSync(link)).toBe(opts().file);
  });

  it('a log that cannot be opened sends its lines to stderr, says why once, and never throws', async () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const file = join(dir, 'not-a-dir', 'scvm_failure.log');
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const log = openLog(opts({ file }));
      log.warn('route kept');
      expect(() => log.attach()).not.toThrow();
      log.info('after attach');
      await log.flush();
    } finally {
      spy.mockRestore();
    }
    expect(written[0]).toMatch(new RegExp(`^reroute: cannot open log file ${file} \\(E[A-Z]+: .+\\): logging to stderr; check paths.log and its directory\\n$`));
    expect(written.slice(1).map((l) => l.replace(stamp, ''))).toEqual(['WARN route kept\n', 'INFO after attach\n']);
  });
});
