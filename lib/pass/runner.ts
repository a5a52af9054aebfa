// The long-lived mode (`reroute loop --every <s>`): one process makes a pass every cadence until the next minute's
// process takes over, so cron starts one process a minute instead of one a pass. Every pass is the same pass as a
// one-pass `loop` (lock, load, observe, decide, act, save), so `reroute route` and a one-pass `loop` still interleave
// safely; only the ICMP verdicts come from a monitor that pings all the time instead of a sweep per pass.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { endsTheRunner, FileError, LockedError, LockLostError } from '../errors';
import { openObserver, type Observer } from '../observe';
import { statFile, stuckFileOps } from '../runtime/files';
import { monotonicMs, pidAlive } from '../runtime/host';
import { acquireLock, readLockOwner, type PassLock } from '../runtime/lock';
import { selfCommand } from '../runtime/self-command';
import { cachedRoutes } from '../routes/cached';
import { startWatchdog, type Watchdog } from '../runtime/watchdog';
import { clearWaiter, loadHandOver, loadWaiter, parseBudget, parseSnapshot, runFiles, saveHandOver, saveWaiter } from '../state/run-files';
import { removeStaleTemps, type Memory } from '../state/store';
import type { Agent } from './agent';
import type { ProbeResult } from '../types';
import { recordFailedPass } from './failed-pass';
import { runPass, type PassOptions, type PassReport } from './pass';
import { runnerRestarted } from './told';

export interface RunnerOptions {
  /** cadence, ms */
  everyMs: number;
  /** run this long, ms; default: until the next minute's process is due (the next minute boundary) plus one cadence */
  forMs?: number;
  /** files whose change (an upgrade, a new config) ends this process and starts a successor on them */
  watchFiles: string[];
}

/** What a stop was for: the end of this process's minute, SIGTERM, a changed config or binary, another runner. */
type Stop = 'end' | 'sigterm' | 'changed' | 'lost';

const POLL_MS = 50;
/**
 * How long past its end a runner keeps passing while no successor waits for it. The next minute's process is normally
 * there within a second of the boundary; if cron did not start one, the guard line's next check does (every 5 s,
 * docs/install.md).
 */
const HAND_OVER_WAIT_MS = 5000;
/**
 * How long past its end plus HAND_OVER_WAIT_MS a runner passes on while the wall clock is behind the moment the next
 * minute's process is due: cron starts that process by the wall clock, so after a step back it comes that much later
 * (busybox crond runs no job until the wall clock passes its last run: miscutils/crond.c). Beyond an hour crond
 * resynchronises; a minute covers what NTP steps by.
 */
const CLOCK_BEHIND_WAIT_MS = 60_000;
/** how long the runner trusts a route it read (lib/routes/cached.ts) */
const ROUTE_MAX_AGE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A watched file's identity; null when it cannot be told now (its disk does not answer: no change seen). */
async function identity(file: string): Promise<string | null> {
  try {
    const st = await statFile(file);
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing';
  } catch {
    return null;
  }
}

/**
 * The runner lock: one runner at a time. A successor waits here until its predecessor is gone (or overdue: killed),
 * and says so in runner.next (its pid): a predecessor past its end passes on until then, and hands over at its next
 * slot. A lock that cannot be written at all (a read-only or hanging RAM disk) is no reason to leave the host
 * without an agent: the runner goes on without it, said at error (returns 'none').
 */
async function takeRunnerLock(
  files: ReturnType<typeof runFiles>,
  { holdMs, boundMs, everyMs }: { holdMs: number; boundMs: number; everyMs: number },
  agent: Agent,
  giveUpAt: number,
): Promise<PassLock | 'none' | null> {
  const graceMs = 3 * agent.config.commandTimeoutMs + agent.config.passDeadlineMs;
  let said = false;
  try {
    for (;;) {
      try {
        return await acquireLock(files.runnerLock, { holdMs, graceMs, boundMs, log: agent.log });
      } catch (e) {
        if (e instanceof FileError) {
          agent.log.error(`runner: the runner lock ${files.runnerLock} cannot be taken (${e.errno}): running without it; free or fix its directory`);
          return 'none';
        }
        if (!(e instanceof LockedError)) throw e;
        if (monotonicMs() >= giveUpAt) return null;
        if (!said) {
          if (await noSuccessor(files, graceMs, successorWindowMs(everyMs), agent.log)) return null;
          said = await saveWaiter(files.waiting, agent.log);
        }
        await sleep(POLL_MS);
      }
    }
  } finally {
    if (said) await clearWaiter(files.waiting);
  }
}

/**
 * How close to its end a runner must be for a process that finds it holding the runner lock to wait as its successor:
 * the next minute's process starts within a second or so of the boundary, the holder's end is a cadence past it, and
 * it passes on for HAND_OVER_WAIT_MS more while nobody waits; 5 s more for a slow start.
 */
const successorWindowMs = (everyMs: number) => everyMs + HAND_OVER_WAIT_MS + 5000;

/**
 * Whether this process is no successor of the runner holding the lock, and leaves: the holder is far from its end, or
 * another process waits for it already. Never more than two runners (the holder and its successor), whatever
 * starts them: issue 27, guard lines checking a runner lock the config had moved started a runner every 10 s, each of
 * which waited out the minute (6 Node processes, 328 MB).
 */
async function noSuccessor(files: ReturnType<typeof runFiles>, graceMs: number, windowMs: number, log: Agent['log']): Promise<boolean> {
  const waiting = await loadWaiter(files.waiting);
  if (waiting !== null && waiting !== process.pid && pidAlive(waiting)) {
    log.debug(`runner: pid ${waiting} waits already to take over from the runner; leaving`);
    return true;
  }
  const holder = await readLockOwner(files.runnerLock).catch(() => null);
  const leftMs = holder ? holder.deadline - graceMs - monotonicMs() : 0;
  if (leftMs <= windowMs) return false;
  log.warn(
    `runner: pid ${holder!.pid} holds the runner lock ${files.runnerLock} for ${Math.round(leftMs / 1000)} s more; this process leaves ` +
      `(started by hand, or by a guard cron line checking another lock: \`reroute doctor\` says, \`reroute install\` again fixes it)`,
  );
  return true;
}

/**
 * The runner lock, still this process's after a pass: taken again when someone removed it (else the guard line starts
 * a second runner, and two pass for the rest of the minute: issue 27), null when another runner holds it now (this
 * one leaves the passes to it).
 */
async function keepRunnerLock(
  lock: PassLock,
  path: string,
  { holdMs, boundMs, agent }: { holdMs: number; boundMs: number; agent: Agent },
): Promise<PassLock | null> {
  try {
    await lock.assertHeld();
    return lock;
  } catch (e) {
    if (!(e instanceof LockLostError)) throw e;
  }
  const { config, log } = agent;
  try {
    const again = await acquireLock(path, { holdMs: Math.max(holdMs, 1000), graceMs: 3 * config.commandTimeoutMs + config.passDeadlineMs, boundMs, log });
    log.warn(`runner: the runner lock ${path} was removed; taken again`);
    return again;
  } catch (e) {
    if (e instanceof LockedError) {
      log.warn(`runner: another runner holds the runner lock ${path} now (${e.context.holder as string}); leaving the passes to it`);
      return null;
    }
    if (e instanceof FileError) return lock; // cannot be told now: the next pass looks again
    throw e;
  }
}

/** Whether another runner waits for the runner lock. */
async function successorWaits(waiting: string): Promise<boolean> {
  const pid = await loadWaiter(waiting);
  return pid !== null && pid !== process.pid && pidAlive(pid);
}

/** Run passes every `everyMs` until this process's end; returns the exit code. */
export async function runLoop(processAgent: Agent, opts: RunnerOptions): Promise<number> {
  const agent: Agent = { ...processAgent, backend: cachedRoutes(processAgent.backend, ROUTE_MAX_AGE_MS, monotonicMs) };
  const { config, log } = agent;
  const started = monotonicMs();
  const endAt = started + (opts.forMs ?? 60_000 - (Date.now() % 60_000) + opts.everyMs);
  // Past its end minus a cadence a runner hands over: at once to a successor that waits for the runner lock, else it
  // goes on passing until one does, for at most HAND_OVER_WAIT_MS (a gap in the monitor's watch would cost a failover
  // that falls into it the monitor's silence again, counted from the new process's start).
  const handOverAt = endAt - opts.everyMs;
  // the same moment on the wall clock, when cron starts the next minute's process
  const successorDueWall = Date.now() + (handOverAt - monotonicMs());
  let saidClockBehind = false;
  const files = runFiles(dirname(config.paths.record));
  // Held for this process's life: a predecessor still passing makes this one wait; a stuck one is killed.
  const holdMs = endAt + HAND_OVER_WAIT_MS - started;
  // the longest any runner holds this lock: a minute, a cadence (up to 59 s), the hand-over wait and the grace
  const boundMs = 120_000 + HAND_OVER_WAIT_MS + 3 * config.commandTimeoutMs + config.passDeadlineMs;
  let runner = await takeRunnerLock(files, { holdMs, boundMs, everyMs: opts.everyMs }, agent, handOverAt);
  if (!runner) {
    log.debug('runner: not taking over (the runner holding the lock is not near its end, or held on past this one\'s window); leaving the passes to it');
    return 0;
  }
  if (runner !== 'none' && runner.tookOver) agent.told?.tell(runnerRestarted(runner.tookOver));
  // what the last runner learned, handed on: the monitor's round trips and verdicts, the API's retry budget
  const [monitorText, budgetText] = await Promise.all([loadHandOver(files.monitor, log), loadHandOver(files.budget, log)]);
  await Promise.all([removeStaleTemps(files.monitor, log), removeStaleTemps(files.budget, log)]);
  // the monitor's raw socket, and the API's connections, answer times and retry budget: for the process's life
  const observer = openObserver(config, log, { monitor: parseSnapshot(monitorText), budget: parseBudget(budgetText) });
  const maxPassMs = config.passDeadlineMs + 3 * config.commandTimeoutMs + 2000; // the deadline and its one grace
  const watchdog = startWatchdog(files.watchdog, config.paths.log, maxPassMs, log);
  const seen = new Map(await Promise.all(opts.watchFiles.map(async (f) => [f, await identity(f)] as const)));
  // what the passes carry from one to the next, so a file that cannot be read or written costs only the file
  const memory: { current: Memory | null } = { current: null };
  let staying = false;
  let stop: Stop | null = null;
  let wake: () => void = () => undefined;
  const onTerm = () => {
    stop ??= 'sigterm';
    wake();
  };
  process.on('SIGTERM', onTerm);
  // A change of verdict on the local SCVM or the current target starts a pass at once, between passes or during one
  // (then the next pass starts as soon as this one ends); any change of verdict makes the next pass ask for a fresh
  // session list (lib/pass/pacing.ts).
  let critical = new Set<string>([config.local.dataIp]);
  let verdictChanged = false;
  let passAgain: boolean;
  // ...and a pass in progress stops waiting when one of them goes down: for the list and the NFS check (lib/observe),
  // and for every API call still in flight or not yet made (the heartbeat, a refresh: issue 27, a slow API's 2 s
  // heartbeat held the failover)
  let interruptPass: (down: string) => void = () => undefined;
  observer.onChange((ip, verdict) => {
    verdictChanged = true;
    if (!critical.has(ip)) return;
    passAgain = true;
    if (verdict === 'down') interruptPass(ip);
    wake();
  });
  // The first pass at once (the hand-over leaves no gap), then one per slot: each host's slots sit at an offset of
  // its own within the cadence, so a cluster's hosts do not pass in lockstep.
  const grid = monotonicMs() + Math.floor(Math.random() * opts.everyMs);
  let passes = 0;
  try {
    while (stop === null) {
      const now = monotonicMs();
      const clockBehind = Date.now() < successorDueWall + HAND_OVER_WAIT_MS && now <= handOverAt + HAND_OVER_WAIT_MS + CLOCK_BEHIND_WAIT_MS;
      if (now > handOverAt + HAND_OVER_WAIT_MS && clockBehind && !saidClockBehind) {
        saidClockBehind = true;
        log.warn('runner: the wall clock went back (cron starts the next runner by it): passing on until the next runner comes');
      }
      const noneComes = now > handOverAt + HAND_OVER_WAIT_MS && !clockBehind;
      if (now > handOverAt && (noneComes || (await successorWaits(files.waiting)))) {
        // A file operation of this process still unanswered (a disk that hangs): this process cannot end until it
        // is (runtime/files.ts), and a successor would hang reading its config from that disk: it stays and passes.
        const stuck = stuckFileOps();
        if (stuck.length === 0) {
          stop = 'end';
          break;
        }
        if (!staying) log.error(`runner: ${stuck[0]!.op} ${stuck[0]!.path} has not answered: staying past this minute and passing until it does`);
        staying = true;
      }
      const urgent = verdictChanged;
      verdictChanged = false;
      passAgain = false;
      const stopping = new AbortController();
      const interrupt = new Promise<{ down: string; probes: Record<string, ProbeResult> }>((resolve) => {
        interruptPass = (down) => {
          resolve({ down, probes: observer.results() });
          stopping.abort(new Error(`${down} went down during the pass; a new pass starts`));
        };
      });
      const report = await onePass(agent, { observer, watchdog, interrupt, stop: stopping.signal, memory }, urgent);
      if (report) passes++;
      interruptPass = () => undefined;
      if (report) critical = new Set([config.local.dataIp, report.decision.target]);
      for (const [file, was] of seen) {
        const is = await identity(file);
        if (is !== null && was !== null && is !== was) {
          log.info(`runner: ${file} changed; handing over to a runner started on it`);
          stop = 'changed';
        }
      }
      if (stop === null && runner !== 'none') {
        const kept = await keepRunnerLock(runner, files.runnerLock, { holdMs: endAt + HAND_OVER_WAIT_MS - monotonicMs(), boundMs, agent });
        if (kept === null) stop = 'lost';
        else runner = kept;
      }
      if (stop !== null) break;
      if (passAgain) continue; // a verdict that matters changed during the pass: the next one at once
      const after = monotonicMs();
      const next = grid + (Math.floor((after - grid) / opts.everyMs) + 1) * opts.everyMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, next - after);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => undefined;
    }
  } finally {
    process.off('SIGTERM', onTerm);
    watchdog.stop();
    const handOver = observer.handOver()!;
    await Promise.all([saveHandOver(files.monitor, handOver.monitor, log), saveHandOver(files.budget, handOver.budget, log)]);
    await observer.close();
    await agent.told?.close(0); // what waits for syslog or the hook is the next runner's to tell
    if (runner !== 'none' && stop !== 'lost') await runner.release();
  }
  if (stop === 'changed') startSuccessor(log);
  // what this process took from its host, for the field tests (docs/esxi.md, docs/xen.md): log.level debug shows it
  const used = process.resourceUsage();
  log.debug(
    `runner: done (${stop}) after ${Math.round((monotonicMs() - started) / 1000)} s, ${passes} passes; ` +
      `CPU ${Math.round((used.userCPUTime + used.systemCPUTime) / 1000)} ms, max RSS ${(used.maxRSS / 1024).toFixed(1)} MB`,
  );
  return 0;
}

/** One pass with the monitor's verdicts, under the watchdog; null when it did not run or failed (the next slot tries). */
interface RunnerParts {
  observer: Observer;
  watchdog: Watchdog;
  interrupt: NonNullable<PassOptions['interrupt']>;
  stop: AbortSignal;
  memory: NonNullable<PassOptions['memory']>;
}

async function onePass(agent: Agent, { observer, watchdog, interrupt, stop, memory }: RunnerParts, urgent: boolean): Promise<PassReport | null> {
  const { log } = agent;
  const started = monotonicMs();
  try {
    watchdog.passStarts();
    return await runPass(agent, {
      urgent,
      observer,
      interrupt,
      stop,
      memory,
    });
  } catch (e) {
    if (e instanceof LockedError) {
      log.debug(`runner: ${e.message}; trying again at the next slot`);
      return null;
    }
    await recordFailedPass(agent, e, started, memory);
    if (endsTheRunner(e)) throw e; // the one exit path says what (errors.ts: which errors end the runner)
    log.error(`runner: pass failed: ${(e as Error).message}; trying again at the next slot`);
    return null;
  } finally {
    watchdog.passEnds();
  }
}

/** Start a runner on the new config or binary; it waits for this one to go, then takes over at once. */
function startSuccessor(log: Agent['log']): void {
  try {
    const child = spawn(...selfCommand(), { detached: true, stdio: 'ignore' });
    child.unref();
  } catch (e) {
    log.warn(`runner: could not start a successor (${(e as Error).message}); cron starts one within 10 s`);
  }
}
