// Run an external command with a hard deadline: no shell, its own process group, SIGKILL to the whole group.
// Field incident: a child `esxcfg-route -l` escaped its 2 s kill and froze the agent for days; this must be impossible.
import { spawn } from 'node:child_process';
import { CommandError, CommandTimeoutError, MissingValueError } from '../errors';

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

/**
 * Run argv[0] with argv[1..]; resolves with the result whatever the exit status.
 * Rejects with CommandTimeoutError past timeoutMs (after killing the group) or CommandError when it cannot start.
 */
export function run(argv: string[], opts: ExecOptions): Promise<ExecResult> {
  if (argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.length === 0)) {
    return Promise.reject(new MissingValueError('a command line', { argv }));
  }
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
