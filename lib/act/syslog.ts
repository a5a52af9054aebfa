// Tell syslog: one event as one key=value line through `logger -t reroute` (Node has no Unix datagram socket; ESXi's
// busybox logger and dom0's util-linux logger both take -t and -p), within a timeout. On ESXi vmsyslogd forwards the
// line to the remote log host; on dom0 rsyslog does.
import { run } from '../runtime/exec';

/** syslog's tag: what operators filter on (`programname == "reroute"`). */
export const SYSLOG_TAG = 'reroute';
/** busybox syslogd and vmsyslogd cut a message near 1 KB: a line stays under this, its longest value cut short. */
const MAX_LINE = 900;

/** A value as key=value needs it: bare when plain, else in double quotes with \ and " escaped; one line. */
export function quoteValue(v: string): string {
  const one = v.replace(/[\r\n\t]+/g, ' ');
  return /^[A-Za-z0-9._:,/@+-]+$/.test(one) ? one : `"${one.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The key=value line of an event's fields, under MAX_LINE (long values are cut, never the keys). */
export function syslogLine(fields: [string, string][]): string {
  const line = fields.map(([k, v]) => `${k}=${quoteValue(v)}`).join(' ');
  if (line.length <= MAX_LINE) return line;
  const longest = fields.reduce((a, b) => (b[1].length > a[1].length ? b : a));
  const cut = Math.max(0, longest[1].length - (line.length - MAX_LINE) - 3);
  return syslogLine(fields.map(([k, v]) => [k, k === longest[0] ? `${v.slice(0, cut)}...` : v]));
}

export interface SyslogOptions {
  /** the logger command (busybox's on ESXi, util-linux's on dom0) */
  command: string;
  timeoutMs: number;
}

/** Send one line at `priority` (e.g. daemon.warning). Throws when logger cannot start, fails, or times out. */
export async function sendToSyslog(line: string, priority: string, opts: SyslogOptions): Promise<void> {
  const r = await run([opts.command, '-t', SYSLOG_TAG, '-p', priority, line], { timeoutMs: opts.timeoutMs, maxOutputBytes: 4096 });
  if (r.status !== 0) throw new Error(`${opts.command} exited ${r.status ?? r.signal}: ${r.stderr.trim().slice(0, 200)}`);
}
