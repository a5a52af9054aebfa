// Where `reroute install` writes, per platform, and the file I/O and crond reload that go with it.
// Field incident: a failed lookup once became "/vmfs/volumes/None/..." in a crontab; every path here is checked first.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MissingValueError, UsageError } from '../errors';
import { detectPlatform, PLATFORMS, type Platform } from '../config/platform';
import { pidAlive } from '../runtime/host';

/** A file as the target host sees it (`path`) and where this process reads/writes it (`file`, under --root). */
export interface Place {
  path: string;
  file: string;
}

/** Everything install/uninstall touch on one platform. */
export interface Targets {
  platform: Platform;
  root: string | null;
  crontab: Place;
  /** sixth field of /etc/cron.d lines; null for a user crontab */
  cronUser: string | null;
  /** the crontab file holds only our lines: uninstall deletes it */
  ownsCrontab: boolean;
  /** mode of a crontab file we create */
  crontabMode: number;
  /** ESXi only: boot script that re-adds the lines */
  bootScript: Place | null;
  /** ESXi only: crond is restarted after a change (KB: kill the pid in crond.pid, start busybox crond) */
  crond: { pidFile: string; start: string[] } | null;
}

/** The init script the VIB installs (scripts/pack/vib.ts): ESXi runs it at boot, also under Secure Boot. */
export const VIB_INIT_SCRIPT = '/etc/init.d/reroute';

// Values a failed lookup turns into when formatted into a string (Python None, JS undefined/null/NaN).
const MISSING_WORDS = new Set(['none', 'undefined', 'null', 'nan', '']);

/** The value, or MissingValueError when it is absent or is a stringified missing value in any path segment. */
export function presentPath(what: string, value: string | undefined | null): string {
  if (value === undefined || value === null || value.trim() === '') throw new MissingValueError(what, { value });
  const segments = value.split('/').slice(value.startsWith('/') ? 1 : 0);
  const bad = segments.find((s, i) => MISSING_WORDS.has(s.toLowerCase()) && !(s === '' && i === segments.length - 1));
  if (bad !== undefined) throw new MissingValueError(`${what} "${value}"`, { value, segment: bad });
  return value;
}

/** Host path `absPath` as seen from this process: itself, or the same path inside `root`. */
export function underRoot(root: string | null, absPath: string): string {
  return root === null ? absPath : join(root, absPath);
}

function place(root: string | null, path: string): Place {
  return { path, file: underRoot(root, path) };
}

/** Install locations of a platform; `root` (already checked) prefixes every file. */
export function targetsFor(platform: Platform, root: string | null): Targets {
  if (platform === 'esxi') {
    return {
      platform,
      root,
      crontab: place(root, '/var/spool/cron/crontabs/root'),
      cronUser: null,
      ownsCrontab: false,
      crontabMode: 0o600,
      bootScript: place(root, '/etc/rc.local.d/local.sh'),
      crond: { pidFile: '/var/run/crond.pid', start: ['/usr/lib/vmware/busybox/bin/busybox', 'crond'] },
    };
  }
  // Xen dom0 and plain Linux: a file of our own in /etc/cron.d. The admin's /etc/crontab is never rewritten, cron
  // (cronie on XenServer, Debian cron) notices the file without a restart, and uninstall simply deletes it. The name
  // has no dot (Debian cron ignores such files) and the file is 0644 root (cron ignores group/other-writable ones).
  return {
    platform,
    root,
    crontab: place(root, '/etc/cron.d/reroute'),
    cronUser: 'root',
    ownsCrontab: true,
    crontabMode: 0o644,
    bootScript: null,
    crond: null,
  };
}

/**
 * An absolute path that must exist (under `root` when given), checked before it goes into a crontab.
 * `option` names the command-line option that sets it, for the fix in the message.
 */
export function existingPath(what: string, value: string | undefined | null, root: string | null, option: string): string {
  const path = presentPath(what, value);
  if (!isAbsolute(path)) throw new UsageError(`${option} ${path}: ${what} must be an absolute path`);
  const file = underRoot(root, path);
  if (!existsSync(file)) {
    throw new UsageError(`${option} ${path}: ${what} not found${root === null ? '' : ` under --root ${root} (${file})`}: fix the path`);
  }
  return path;
}

// Quote for /bin/sh only when needed, so ordinary paths stay readable in the crontab.
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command cron runs: `<node> [<entry>] loop --config <file>` with absolute paths, output dropped (the agent logs
 * to its own file; cron would otherwise mail every run's output). `entry` is null for a single executable.
 */
export function loopCommand(node: string, entry: string | null, config: string, everySec: number | null = null): string {
  const argv = [presentPath('the node path', node)];
  if (entry !== null) argv.push(presentPath('the agent entry path', entry));
  argv.push('loop', ...(everySec === null ? [] : ['--every', String(everySec)]), '--config', presentPath('the config path', config));
  return `${argv.map(shellWord).join(' ')} >/dev/null 2>&1`;
}

/** File text, or '' when it does not exist. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** Delete a file; true if it was there. */
export function removeFile(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Start a daemon and wait for its launcher to exit. Not through runtime/exec: that kills the launcher's process group
 * when the launcher exits, which could catch busybox crond between its fork and its setsid.
 */
function startDaemon(argv: string[], timeoutMs: number): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', shell: false });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`still in the foreground after ${timeoutMs} ms; killed`);
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve(status === 0 ? 'ok' : `exit ${status === null ? `signal ${signal}` : status}`);
    });
    child.unref();
  });
}

/**
 * Restart crond as VMware's KB on ESXi cron jobs does: kill the pid in crond.pid, then start busybox crond (it
 * daemonizes). Returns one line per step for the operator.
 */
export async function restartCrond(crond: { pidFile: string; start: string[] }, timeoutMs = 5000): Promise<string[]> {
  const said: string[] = [];
  const text = readText(crond.pidFile).trim();
  const pid = /^\d+$/.test(text) ? Number(text) : null;
  if (pid !== null && pid > 1 && pidAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    const until = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    // A second crond would run every job twice: better no restart than two.
    if (pidAlive(pid)) return [...said, `crond pid ${pid} did not stop within ${timeoutMs} ms: not starting another; restart crond by hand`];
    said.push(`stopped crond (pid ${pid})`);
  } else {
    said.push(text === '' ? `no ${crond.pidFile}: crond was not running` : `${crond.pidFile} names no live process ("${text.slice(0, 20)}")`);
  }
  const started = await startDaemon(crond.start, timeoutMs);
  said.push(started === 'ok' ? `started crond (${crond.start.join(' ')})` : `could not start crond (${crond.start.join(' ')}): ${started}`);
  return said;
}

/** --root checked: null when not given, else an existing directory (made absolute). */
export function checkedRoot(root: string | undefined): string | null {
  if (root === undefined) return null;
  const dir = resolve(presentPath('the --root directory', root));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UsageError(`--root ${root}: no such directory: create it or fix the path`);
  return dir;
}

/** --platform checked, else detected (inside --root when given). */
export function checkedPlatform(platform: string | undefined, root: string | null): Platform {
  if (platform === undefined || platform === 'auto') return detectPlatform({ root });
  if ((PLATFORMS as readonly string[]).includes(platform)) return platform as Platform;
  throw new UsageError(`--platform ${platform}: use one of ${PLATFORMS.join(', ')} (or leave it out to detect)`);
}
