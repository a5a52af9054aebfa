// A pass that threw is recorded too (lastPass.ok false, its error's first line), so `status` and `status --check`
// show FAILED instead of the last pass that went well (issue 32: lastPass.ok was only ever written true).
import { LockedError } from '../errors';
import { continueTime, readClock } from '../runtime/clock';
import { monotonicMs } from '../runtime/host';
import { failedPass } from '../state/schema';
import { loadState, saveRecord, type Memory } from '../state/store';
import type { Agent } from './agent';
import { takeLock } from './pass';

/** How long to wait for the pass lock: a pass past its deadline may still be ending (its commands were killed). */
const LOCK_WAIT_MS = 2000;
const TEXTS_KEPT = 4;

/**
 * Write `err` as the last pass (started at monotonic `startedMs`) into the record file, under the pass lock. Never
 * throws: a lock held by another pass (which records its own) or a record that cannot be written is said at debug.
 */
export async function recordFailedPass(agent: Agent, err: unknown, startedMs: number, memory?: { current: Memory | null }): Promise<void> {
  const { config, log, dryRun } = agent;
  if (dryRun || err instanceof LockedError) return;
  try {
    const lock = await takeLock(config.paths.lock, { holdMs: 5000, graceMs: 3 * config.commandTimeoutMs + 2000, log }, LOCK_WAIT_MS);
    try {
      const reading = readClock();
      const loaded = await loadState(config.paths, log, { moveAsideCorrupt: false, memory: memory?.current ?? null });
      if (!loaded.writeRecord) return;
      const time = continueTime(loaded.clock, reading, { recordSurvived: loaded.recordFound });
      const durationMs = monotonicMs() - startedMs;
      const state = { ...loaded.state, lastPass: failedPass(loaded.state.lastPass, time.now - durationMs, durationMs, (err as Error).message ?? String(err)) };
      const text = await saveRecord(config.paths.record, state);
      const m = memory?.current;
      if (m) memory.current = { ...m, state: { ...m.state, lastPass: state.lastPass }, recordTexts: [...m.recordTexts, text].slice(-TEXTS_KEPT) };
    } finally {
      await lock.release();
    }
  } catch (e) {
    log.debug(`the failed pass is not recorded: ${(e as Error).message}`);
  }
}
