// One pass, top to bottom: lock, load, observe, decide, act, save, unlock. Everything it calls lives below it.
import { FileError, LockedError, StateError } from '../errors';
import { act } from '../act';
import { decide, probeTargets, afterTimeGap, watchFirst, type Decision } from '../decide';
import { observe, observeAgain, openObserver, type Observer } from '../observe';
import { continueTime, readClock } from '../runtime/clock';
import { armDeadline, type Deadline } from '../runtime/deadline';
import { monotonicMs } from '../runtime/host';
import { acquireLock, type PassLock } from '../runtime/lock';
import { loadState, removeStaleTemps, saveLasting, saveRecord, type Memory } from '../state/store';
import { failedPass, type State } from '../state/schema';
import type { ProbeResult } from '../types';
import type { Agent } from './agent';
import { heartbeatDue, listToReuse, noteList } from './pacing';
import { logPass, warnReadOnly } from './pass-log';

/** What one pass did, for the commands that print it. */
export interface PassReport {
  decision: Decision;
  switched: 'no' | 'yes' | 'failed' | 'dry-run';
  /** 'paced': not due this pass (api.heartbeatEverySec) */
  heartbeat: 'sent' | 'failed' | 'none' | 'paced';
  /** what the next passes need pinged: `fast` as closely as the local SCVM, all of `all` */
  watch: { fast: string[]; all: string[] };
}

/** A change an operator makes to the state under the pass's lock (`route --target` / `--auto`), at agent time `now`. */
export type StateEdit = (state: State, now: number) => void;

export interface PassOptions {
  edit?: StateEdit;
  /** the process's observer (the long-lived runner's: its monitor and API link); absent: the pass opens its own */
  observer?: Observer;
  /** an ICMP verdict changed since the last pass: ask for a fresh session list whatever the pace */
  urgent?: boolean;
  /**
   * an operator's command (`route`): wait up to half the pass deadline for a pass in progress to end instead of
   * exiting 3 at once; in the long-lived mode a pass runs every second
   */
  waitForLock?: boolean;
  /** the runner's monitor judged the local SCVM or the current target down while the pass waits: stop waiting */
  interrupt?: Promise<{ down: string; probes: Record<string, ProbeResult> }>;
  /**
   * aborted at the same moment (the runner): what the pass still waits for on the API (the heartbeat, a refresh, a list
   * asked again) ends at once, so the pass ends and the runner starts the next one on the new verdict
   */
  stop?: AbortSignal;
  /**
   * what the long-lived runner carries from pass to pass (lib/state/store.ts), updated at the end of each pass; with
   * it, a file that cannot be read or written (the lock, the state, the record) is logged and the pass goes on
   */
  memory?: { current: Memory | null };
}

/** Texts of its files a process remembers as its own (a write given up may still land). */
const TEXTS_KEPT = 4;
const remember = (texts: string[], text: string | null | undefined): string[] =>
  text ? [...texts.filter((t) => t !== text), text].slice(-TEXTS_KEPT) : texts;

/** The lock of a pass that could not take one because its file could not be written (the runner only). */
const NO_LOCK: PassLock = { assertHeld: async () => undefined, release: async () => undefined };

/** Run one pass within its deadline. Throws LockedError (exit 3), DeadlineError or StateError (exit 1). */
export async function runPass(agent: Agent, opts: PassOptions = {}): Promise<PassReport> {
  const { config, log } = agent;
  const deadline = armDeadline(config.passDeadlineMs, 3 * config.commandTimeoutMs, log);
  try {
    return await Promise.race([deadline.expired, pass(agent, deadline, opts, opts.observer ?? openObserver(config, log))]);
  } finally {
    deadline.stop();
  }
}

/** The pass lock; held by another pass, tried again every 50 ms for `waitMs`, then LockedError. */
export async function takeLock(path: string, lockOpts: Parameters<typeof acquireLock>[1], waitMs: number): Promise<PassLock> {
  const until = monotonicMs() + waitMs;
  for (;;) {
    try {
      return await acquireLock(path, lockOpts);
    } catch (e) {
      if (!(e instanceof LockedError) || monotonicMs() >= until) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pass(agent: Agent, deadline: Deadline, opts: PassOptions, observer: Observer): Promise<PassReport> {
  const { config, log, backend, dryRun } = agent;
  const reading = readClock();
  deadline.step = 'taking the lock';
  const lockGraceMs = 3 * config.commandTimeoutMs + 2000;
  const lockOpts = { holdMs: config.passDeadlineMs, graceMs: lockGraceMs, log };
  let lock: PassLock;
  try {
    lock = await takeLock(config.paths.lock, lockOpts, opts.waitForLock ? config.passDeadlineMs / 2 : 0);
  } catch (e) {
    // the runner: a lock that cannot be written (a full, read-only or hanging RAM disk) is no reason to leave the
    // route where it is; `route` and a one-pass `loop` stop here (exit 1)
    if (!(e instanceof FileError) || !opts.memory) throw e;
    log.error(`pass lock ${config.paths.lock} cannot be taken (${e.errno}): passing without it; free or fix its directory`);
    lock = NO_LOCK;
  }
  try {
    deadline.step = 'loading the state';
    const memory = opts.memory?.current ?? null;
    const loaded = await loadState(config.paths, log, { moveAsideCorrupt: !dryRun, memory });
    // temp files are left only by a process killed mid-write: looked for once a process (a runner's first pass)
    if (memory === null) await Promise.all([removeStaleTemps(config.paths.state, log), removeStaleTemps(config.paths.record, log)]);
    const time = continueTime(loaded.clock, reading, { recordSurvived: loaded.recordFound });
    let state = loaded.state;
    if (time.gap && !loaded.firstRun) state.engine = afterTimeGap(state.engine);
    if (loaded.readOnly) warnReadOnly(log, loaded.readOnly, config.paths.record);
    const pinBefore = state.pin;
    opts.edit?.(state, time.now);

    const probes = observer.probes(probeTargets(config, state.engine), watchFirst(config, state.engine, config.probe.watchNext));
    const agentNow = () => time.now + (monotonicMs() - reading.mono);
    // what the API calls of this pass stop for: the verdicts it started from going out of date (the runner)
    let stop = opts.stop;
    const client = observer.client({ config, credentials: agent.credentials, log, cache: state.api, now: agentNow, stop: () => stop });
    try {
      const reuseList = listToReuse(state, config, time.now, opts.urgent === true);
      const observing = { config, log, backend, client, deadline, probes, cachedSwitches: state.api.switches, reuseList };
      let obs = await observe(opts.interrupt ? { ...observing, interrupt: opts.interrupt } : observing);
      // stopped while observing: observe went on with the new verdicts (the interrupt's), and what the pass decides on
      // them (a switch's refresh, the heartbeat) is sent
      if (stop?.aborted) stop = undefined;

      deadline.step = 'deciding';
      const input = { obs, state: state.engine, pin: state.pin, config, now: time.now, hostId: agent.hostId };
      let { decision, state: decided } = decide(input);
      if (decision.change) {
        // no switch on a reused list or route: look again, and decide again on what is there now
        const again = await observeAgain({ config, backend, client, deadline }, obs);
        if (again !== obs) ({ decision, state: decided } = decide({ ...input, obs: again }));
        obs = again;
      }
      noteList(state, obs.sessions, time.now);
      if (decision.clearPin && state.pin) {
        const why = decision.pinTargetFailing?.cleared ? 'its target failed past decide.pinGraceSec' : 'expired';
        log.info(`pin to ${state.pin.target} removed (${why}); back to LOOP mode`);
        state.pin = null;
      }

      // What the state file holds now: it is written only when the pass changed that. A save that fails is logged and
      // the pass goes on (the runner carries the state in memory); a one-pass run exits 1 after its record is saved.
      let onDisk = loaded.lastingAtLoad;
      let stateTexts = remember(memory?.stateTexts ?? [], loaded.stateText);
      let saveFailed: StateError | null = null;
      const save = async (s: State) => {
        if (dryRun || !loaded.writeState) return;
        try {
          const saved = await saveLasting(config.paths.state, s, time.anchor, onDisk);
          onDisk = saved.lasting;
          stateTexts = remember(stateTexts, saved.text);
        } catch (e) {
          if (!(e instanceof StateError)) throw e;
          saveFailed ??= e;
          log.error(`${e.message}; going on from memory`);
          if (e.context.errno === 'EHANG') stateTexts = remember(stateTexts, e.context.text as string); // it may still land
        }
      };
      const acted = await act(decision, decided, {
        config, log, backend, client, lock, deadline, dryRun, now: time.now,
        switched: (engine) => {
          agent.told?.switched(decision);
          return save({ ...state, engine }); // durable before the refresh is sent
        },
        heartbeatDue: (to) => heartbeatDue(state.heartbeat, to, config, time.now),
        pin: state.pin,
      });
      if (acted.heartbeatTo) state.heartbeat = { at: time.now, to: acted.heartbeatTo, ok: acted.heartbeat === 'sent' };

      deadline.step = 'saving the state';
      const durationMs = monotonicMs() - reading.mono;
      const sw = acted.outcome.switched;
      // a pass that goes on past its deadline (its commands killed) saves what it learned, but not as a good pass
      const failure = deadline.error?.message ?? (sw?.ok === false ? `route change to ${sw.to} failed: ${sw.error}` : null);
      const lastPass = failure ? failedPass(state.lastPass, time.now, durationMs, failure) : { at: time.now, ok: true, durationMs };
      state = { ...state, engine: acted.state, lastPass };
      state.steadyLoggedAt = logPass(log, decision, state, time, config.log.steadyEverySec);
      await save(state);
      let recordTexts = remember(memory?.recordTexts ?? [], loaded.recordText);
      if (!dryRun && loaded.writeRecord) {
        try {
          recordTexts = remember(recordTexts, await saveRecord(config.paths.record, state));
        } catch (e) {
          if (!(e instanceof StateError)) throw e;
          saveFailed ??= e;
          log.error(`${e.message}; going on from memory`);
          if (e.context.errno === 'EHANG') recordTexts = remember(recordTexts, e.context.text as string);
        }
      }
      await agent.told?.passDone({ decision, outcome: acted.outcome, obs, state, pinBefore, byOperator: opts.edit !== undefined, now: time.now });
      if (opts.memory) {
        const { stateReadOnly, recordReadOnly } = loaded;
        opts.memory.current = { state, anchor: time.anchor, onDisk, stateTexts, recordTexts, stateReadOnly, recordReadOnly };
      }
      else if (saveFailed) throw saveFailed;
      return {
        decision,
        switched: !decision.change ? 'no' : dryRun ? 'dry-run' : sw?.ok ? 'yes' : 'failed',
        heartbeat: acted.heartbeat,
        watch: { fast: watchFirst(config, state.engine, config.probe.watchNext), all: probeTargets(config, state.engine) },
      };
    } finally {
      await client.close();
    }
  } finally {
    await lock.release();
  }
}
