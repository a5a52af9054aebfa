// The frame around every pass that may change a route (loop, route): config, log, deadline, lock, state, save.
import { loadConfig, configPath, type Credentials } from '../config/load';
import type { Config } from '../config/schema';
import { DeadlineError, LockedError } from '../errors';
import { onExitFlush, exitWith } from '../cli/exit';
import { killAllChildren } from './child-groups';
import { openLog, type FileLog } from './logger';
import { acquirePassLock, type PassLock } from './lock';
import { loadState, removeStaleTemps, stateText, writeStateText, writeStateTextInBackground, type BackgroundWrite } from '../state/store';
import { lastingPart, type State } from '../state/schema';
import type { GlobalOptions } from '../cli/context';
import { mark } from './trace';
import { probeTargets } from '../decide/probe-targets';
import type { EarlySweep } from '../boot/early-sweep';
import { writeErr } from './stdio';

/** What the pass is doing now; the deadline names it, and holds off while a route switch is half done. */
export interface Progress {
  step: string;
  /** > 0 while a route switch is in flight (ESXi delete-then-add): the deadline then grants one grace period */
  critical: number;
}

export interface PassContext {
  config: Config;
  configPath: string;
  credentials: Credentials | null;
  log: FileLog;
  state: State;
  firstRun: boolean;
  lock: PassLock;
  progress: Progress;
  dryRun: boolean;
  verbose: boolean;
  /** the sweep the loader started before the pass (`loop` only): adopt it if it is the one the pass needs */
  earlySweep: EarlySweep | null;
  /**
   * Start writing the state as it is now, before the pass ends (act calls it before the heartbeat); its fsyncs run
   * on the thread pool while the pass finishes. The frame writes again if the state changed since, releases the
   * lock once the file is in place, and waits for it to be durable before the pass ends. Does nothing when called
   * again, in a dry run, or once the lock is lost.
   */
  writeStateEarly(): void;
}

/** Extra time granted once when the deadline finds a route switch in flight, so it can finish or restore. */
function graceMs(config: Config): number {
  return 3 * config.commandTimeoutMs;
}

function armDeadline(ctx: { config: Config; log: FileLog; progress: Progress }): NodeJS.Timeout {
  const ms = ctx.config.passDeadlineMs;
  let graced = false;
  const fire = () => {
    if (ctx.progress.critical > 0 && !graced) {
      graced = true;
      ctx.log.warn(`pass reached its deadline of ${ms} ms during a route switch; allowing ${graceMs(ctx.config)} ms to finish it`);
      timer = setTimeout(fire, graceMs(ctx.config));
      return;
    }
    const err = new DeadlineError(`the pass (while ${ctx.progress.step})`, ms);
    const killed = killAllChildren();
    ctx.log.error(`${err.message}; killed ${killed} child process group(s); exiting 1`);
    writeErr(`reroute: ${err.message}\n`);
    void exitWith(1, 1000);
  };
  let timer = setTimeout(fire, ms);
  return timer;
}

/**
 * Run `body` as one pass. Throws ConfigError (exit 2) before anything is touched, LockedError (exit 3) when another pass
 * runs. State is saved after the body, also when the body failed (so a pending refresh or a pin is never lost).
 */
export async function withPass<T>(
  globals: GlobalOptions,
  name: string,
  body: (ctx: PassContext) => Promise<T>,
  earlySweep: EarlySweep | null = null,
): Promise<T> {
  mark('pass modules loaded');
  const started = Date.now();
  const path = configPath(globals.config);
  const { config, credentials, identity } = loadConfig(path);
  mark('config checked');
  const log = openLog({
    file: config.paths.log,
    link: config.paths.logLink,
    level: globals.verbose ? 'debug' : config.log.level,
    maxBytes: config.log.maxBytes,
    maxFiles: config.log.maxFiles,
    echo: globals.verbose,
  });
  onExitFlush(() => log.flush());
  const progress: Progress = { step: 'taking the lock', critical: 0 };
  const timer = armDeadline({ config, log, progress });
  let lock: PassLock;
  try {
    lock = await acquirePassLock(config.paths.lock, config.passDeadlineMs, log);
  } catch (e) {
    clearTimeout(timer);
    if (e instanceof LockedError) log.warn(`${name}: ${e.message}`);
    throw e;
  }
  mark('lock taken');
  progress.step = 'loading the state';
  const loaded = loadState(config.paths.state, log);
  removeStaleTemps(config.paths.state, log);
  const ctx: PassContext = {
    config,
    configPath: path,
    credentials,
    log,
    state: loaded.state,
    firstRun: loaded.firstRun,
    lock,
    progress,
    dryRun: globals.dryRun,
    verbose: globals.verbose,
    earlySweep,
    writeStateEarly: () => undefined,
  };
  mark('state read');
  const lastingBefore = lastingPart(loaded.state);
  const owned = () => !lock.lost && !globals.dryRun; // --dry-run changes nothing; a pass without its lock owns nothing
  const finishState = (failure: unknown) => {
    ctx.state.lastPass = {
      at: started,
      ok: failure === null,
      durationMs: Date.now() - started,
      ...(failure !== null ? { error: (failure as Error).message } : {}),
    };
    // For the next pass's loader: what it will ping, so that it can start before it has checked anything.
    ctx.state.sweep = { config: { path, ...identity }, targets: probeTargets(config, ctx.state.engine), probe: config.probe };
  };
  let early = null as { text: string; write: BackgroundWrite } | null; // set by writeStateEarly
  ctx.writeStateEarly = () => {
    if (early || !owned()) return;
    finishState(null);
    const text = stateText(ctx.state);
    // a failure is the pass's only at the end, where the state is written again
    // A steady pass (only its record changed) does not wait for the directory's fsync; any other change does.
    const syncDir = lastingPart(ctx.state) !== lastingBefore;
    early = { text, write: writeStateTextInBackground(config.paths.state, text, syncDir) };
    mark('state write started');
  };
  let failure: unknown = null;
  try {
    return await body(ctx);
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    // An early write stands if it worked and nothing changed since (a failure, a new API token); else write now.
    if (!early || failure !== null) finishState(failure);
    progress.step = 'saving the state';
    let durable: Promise<void> | null = null;
    try {
      try {
        if (owned()) {
          const text = stateText(ctx.state);
          // past the early write's rename in any case: a write now must not race it for the temp file
          const placed = early !== null && (await early.write.inPlace);
          if (placed && early!.text === text) durable = early!.write.durable;
          else {
            writeStateText(config.paths.state, text);
            mark('state written again');
          }
        }
        mark('state in place');
      } finally {
        // The next pass may read the new file from now on; its directory's fsync ends while the lock is released.
        await lock.release();
        mark('lock released');
      }
      if (durable) {
        await durable; // a StateError here fails the pass, as a failed write does
        mark('state durable');
      }
    } finally {
      clearTimeout(timer); // only now: a directory fsync that hangs is the deadline's too
    }
  }
}
