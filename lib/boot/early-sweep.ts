// The early sweep: for `reroute loop`, the loader sends the first ICMP echoes before it loads the bundle, checks the
// config or takes the lock, from the plan the previous pass saved in the state file. The sweep's length is set by
// the probe settings (the third reply of a healthy target comes 200 ms after the first echo), so every millisecond
// the first echo is sent earlier is a millisecond off the pass.
// Nothing here decides anything: the pass adopts this sweep only if its own targets and settings, from the checked
// config and the locked state, are the same (lib/cli/commands/loop.ts); otherwise it cancels it and sweeps again.
// Every failure here is silent and only means no early sweep.
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { configPath, DEFAULT_STATE_PATH } from '../config/paths';
import { startSweep, type SweepHandle } from '../observe/icmp/prober';
import { checkPlan, type SweepPlan } from '../observe/icmp/sweep-plan';
import type { Log, LogLevel } from '../runtime/log';

export interface EarlySweep {
  plan: SweepPlan;
  sweep: SweepHandle;
  /** what the sweep logs: held until the pass has its log, then passed on */
  log: HeldLog;
}

export type EarlyStart = { early: EarlySweep; why?: undefined } | { early: null; why: string };

/** A log that holds its lines until `pipeTo`, then writes them and everything after to the real log. */
export class HeldLog implements Log {
  private held: Array<[LogLevel, string, Record<string, unknown> | undefined]> = [];
  private target: Log | null = null;

  pipeTo(log: Log): void {
    this.target = log;
    for (const [level, message, context] of this.held) log[level](message, context);
    this.held = [];
  }

  private write(level: LogLevel, message: string, context?: Record<string, unknown>): void {
    if (this.target) this.target[level](message, context);
    else this.held.push([level, message, context]);
  }

  error(message: string, context?: Record<string, unknown>): void {
    this.write('error', message, context);
  }
  warn(message: string, context?: Record<string, unknown>): void {
    this.write('warn', message, context);
  }
  info(message: string, context?: Record<string, unknown>): void {
    this.write('info', message, context);
  }
  debug(message: string, context?: Record<string, unknown>): void {
    this.write('debug', message, context);
  }
}

const FLAGS = new Set(['--verbose', '--dry-run']);

/**
 * The --config value when the command line is `loop` with only the global options; undefined when there is none;
 * null when the command is something else (or anything the loader does not know: commander will judge it).
 */
export function loopConfigFlag(args: string[]): string | undefined | null {
  let command: string | null = null;
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (FLAGS.has(a)) continue;
    if (a === '--config') {
      config = args[++i];
      if (config === undefined) return null;
    } else if (a.startsWith('--config=')) {
      config = a.slice('--config='.length);
    } else if (a.startsWith('-') || command !== null) {
      return null;
    } else {
      command = a;
    }
  }
  return command === 'loop' ? config : null;
}

/** The state file's path as the config names it (not checked: a wrong one only means no plan). */
function statePathOf(config: unknown): string {
  const paths = (config as { paths?: { state?: unknown } } | null)?.paths;
  return typeof paths?.state === 'string' && paths.state !== '' ? paths.state : DEFAULT_STATE_PATH;
}

/** The plan in the state file, if the file is ours alone (it decides where echoes go). */
function readPlan(statePath: string): SweepPlan | string {
  let fd: number;
  try {
    // not through a symlink: whoever can point one at a file of ours could choose where the echoes go
    fd = openSync(statePath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ELOOP' ? 'the state file is a symlink' : 'no state file';
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      return 'the state file is not ours alone';
    }
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  try {
    return checkPlan((JSON.parse(text) as { sweep?: unknown } | null)?.sweep);
  } catch {
    return 'the state file is not JSON';
  }
}

/** Start the early sweep for this command line, or say why not. Never throws. */
export function startEarlySweep(args: string[], marks: Array<[string, number]> = []): EarlyStart {
  try {
    const flag = loopConfigFlag(args);
    if (flag === null) return { early: null, why: 'not a loop pass' };
    const path = configPath(flag);
    let configText: string;
    let st;
    try {
      st = statSync(path);
      configText = readFileSync(path, 'utf8');
    } catch {
      return { early: null, why: 'config unreadable' };
    }
    const plan = readPlan(statePathOf(JSON.parse(configText)));
    marks.push(['sweep plan read', performance.now()]);
    if (typeof plan === 'string') return { early: null, why: plan };
    const c = plan.config;
    if (c.path !== path || c.size !== st.size || c.mtimeMs !== st.mtimeMs || c.ino !== st.ino) {
      return { early: null, why: 'the config changed since the plan was made' };
    }
    const log = new HeldLog();
    return { early: { plan, sweep: startSweep(plan.targets, plan.probe, log), log } };
  } catch (e) {
    return { early: null, why: (e as Error).message.split('\n')[0]! };
  }
}
