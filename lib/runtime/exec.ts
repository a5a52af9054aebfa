// Run an external command with a hard deadline: no shell, its own process group, SIGKILL to the whole group.
// Field incident: a child `esxcfg-route -l` escaped its 2 s kill and froze the agent for days; this must be impossible.
import { spawn } from 'node:child_process';
import { CommandError, CommandStuckError, CommandTimeoutError, MissingValueError } from '../errors';

export interface ExecResult {
  argv: string[];
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ExecOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** output beyond this many bytes per stream is dropped (the command keeps running) */
  maxOutputBytes?: number;
}

// The process groups of the commands this process started and that still run: killed by the pass deadline, on exit,
// and by the runner's watchdog if it has to kill this process.
const liveGroups = new Set<number>();
/** told of every change: the runner's watchdog, which must kill them too if it has to kill this process */
let onChange: ((groups: readonly number[]) => void) | null = null;

function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
  onChange?.([...liveGroups]);
}

function untrackGroup(pgid: number): void {
  if (liveGroups.delete(pgid)) onChange?.([...liveGroups]);
}

/** The process groups that run now. */
export function liveChildGroups(): number[] {
  return [...liveGroups];
}

/** Be told whenever a group starts or ends (one listener; null to stop). */
export function watchChildGroups(fn: ((groups: readonly number[]) => void) | null): void {
  onChange = fn;
}

/** Kill every process group this process started and that still runs. Used by the pass deadline and on exit. */
export function killAllChildren(): number {
  let killed = 0;
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  onChange?.([]);
  return killed;
}

/** Per command line, its runs killed at their timeout that have not ended yet: pid -> when killed, and its end. */
const killedRuns = new Map<string, Map<number, { at: number; ended: Promise<void> }>>();
/** A killed process normally ends within milliseconds; one still there this long after the kill is stuck. */
const STUCK_AFTER_KILL_MS = 1000;

/**
 * The pid of a run of `line` killed at its timeout and still there a second after the kill, or null. A kill less than a
 * second ago is waited for, up to that second (issue 27: an `esxcfg-route -l` in uninterruptible sleep ignores SIGKILL,
 * and each pass started one more).
 */
async function stuckRun(line: string): Promise<number | null> {
  const runs = killedRuns.get(line);
  if (!runs) return null;
  for (const [pid, { at, ended }] of runs) {
    const wait = at + STUCK_AFTER_KILL_MS - Date.now();
    if (wait > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, wait)))]);
      clearTimeout(timer);
    }
    if (runs.has(pid)) return pid;
  }
  return null;
}

/**
 * Run argv[0] with argv[1..]; resolves with the result whatever the exit status.
 * Rejects with CommandTimeoutError past timeoutMs (after killing the group), CommandStuckError while a run of the same
 * command line killed at its timeout has not ended, or CommandError when it cannot start.
 */
export async function run(argv: string[], opts: ExecOptions): Promise<ExecResult> {
  if (argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.length === 0)) {
    throw new MissingValueError('a command line', { argv });
  }
  const line = argv.join('\0');
  const stuck = killedRuns.has(line) ? await stuckRun(line) : null; // no await otherwise: spawned at once, as before
  if (stuck !== null) throw new CommandStuckError(argv, stuck);
  const max = opts.maxOutputBytes ?? 1024 * 1024;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true, // own process group, so the kill reaches grandchildren too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      shell: false,
    });
    const pgid = child.pid;
    if (pgid !== undefined) trackGroup(pgid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b);
      errLen += b.length;
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (pgid !== undefined) untrackGroup(pgid);
      fn();
    };
    const timer = setTimeout(() => {
      if (pgid !== undefined) {
        // until it really ends, no other run of this command line (SIGKILL does not end a process in uninterruptible sleep)
        const runs = killedRuns.get(line) ?? new Map<number, { at: number; ended: Promise<void> }>();
        runs.set(pgid, { at: Date.now(), ended: new Promise((r) => child.once('exit', () => r())) });
        killedRuns.set(line, runs);
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      // Do not wait for 'close': a grandchild holding the pipes open must not keep us here.
      child.stdout.destroy();
      child.stderr.destroy();
      finish(() => reject(new CommandTimeoutError(argv, opts.timeoutMs)));
    }, opts.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(() =>
        reject(
          new CommandError(`command "${argv.join(' ')}" could not start: ${e.code ?? e.message}`, {
            argv,
            status: null,
            signal: null,
            stdout: '',
            stderr: e.message,
          }),
        ),
      );
    });
    child.on('exit', () => {
      const runs = pgid === undefined ? undefined : killedRuns.get(line);
      if (runs?.delete(pgid!) && runs.size === 0) killedRuns.delete(line);
      // The leader exited; anything it left in its group must not outlive it (nor hold its pipes open).
      if (pgid !== undefined) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // nothing left
        }
      }
    });
    child.on('close', (status, signal) => {
      finish(() =>
        resolve({
          argv,
          status,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          durationMs: Date.now() - started,
        }),
      );
    });
  });
}
