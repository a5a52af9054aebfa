// Whether crond runs: without it the cron lines do nothing. ESXi: the pid in /var/run/crond.pid (the file
// `reroute install` restarts crond by). Xen dom0 and Linux: a process named cron (Debian), crond (cronie) or
// `busybox crond`, found in /proc.
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pidAlive } from '../runtime/host';
import { readText, underRoot, type Targets } from './targets';

/** Whether crond runs, and the evidence. */
export interface CrondStatus {
  running: boolean;
  how: string;
}

/** crond's name in a process's argv, or null (argv as /proc/<pid>/cmdline gives it, NUL-separated). */
export function crondIn(argv: string[]): string | null {
  const name = basename(argv[0] ?? '');
  if (name === 'cron' || name === 'crond') return name;
  return name === 'busybox' && argv[1] === 'crond' ? 'busybox crond' : null;
}

function crondProcess(): CrondStatus {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch (e) {
    return { running: false, how: `cannot list /proc (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const name = crondIn(argv);
    if (name) return { running: true, how: `${name} pid ${pid}` };
  }
  return { running: false, how: 'no cron, crond or busybox crond process in /proc' };
}

/** crond on this platform (ESXi's pid file under --root when given). */
export function crondStatus(t: Targets): CrondStatus {
  if (!t.crond) return crondProcess();
  const file = underRoot(t.root, t.crond.pidFile);
  const text = readText(file).trim();
  if (!/^\d+$/.test(text)) return { running: false, how: text === '' ? `no ${file}` : `${file} holds no pid` };
  return pidAlive(Number(text))
    ? { running: true, how: `pid ${text} from ${file}` }
    : { running: false, how: `${file} names pid ${text}, which is not running` };
}
