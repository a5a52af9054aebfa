// The long-lived runner's files on the RAM disk beside the record (paths.record's directory), each with its format
// and one load/save here (docs/state.md lists every file):
//   runner.lock         the runner lock (lib/runtime/lock.ts: a symlink whose target is its owner record)
//   runner.next         "<pid>\n": a successor waits for the runner lock; the runner hands over at its next slot
//   monitor.json        the ICMP monitor's round trips and verdicts, handed to the next minute's runner
//   retry-budget.json   the API's retry budget, handed on likewise
//   pass-running        the watchdog's file (lib/runtime/watchdog.ts)
// All are aids: one that cannot be read starts that part afresh, one that cannot be written is logged at debug (the
// record's and the lock's failures are logged louder), and none is read on the main thread or without a bound.
import { join } from 'node:path';
import { isIPv4 } from '../net/ipv4';
import type { MonitorSnapshot, TargetMemory, Verdict } from '../observe/icmp/monitor';
import type { BudgetMemory } from '../observe/zbs/race-state';
import { readText, removeFile, writeFileBounded } from '../runtime/files';
import type { Log } from '../runtime/log';

export interface RunFiles {
  runnerLock: string;
  waiting: string;
  monitor: string;
  budget: string;
  watchdog: string;
}

/** The runner's files in the RAM-disk directory `runDir`. */
export function runFiles(runDir: string): RunFiles {
  return {
    runnerLock: join(runDir, 'runner.lock'),
    waiting: join(runDir, 'runner.next'),
    monitor: join(runDir, 'monitor.json'),
    budget: join(runDir, 'retry-budget.json'),
    watchdog: join(runDir, 'pass-running'),
  };
}

// ---- formats (pure) ----

/** runner.next's content -> the waiting successor's pid, or null. */
export function parseWaiter(text: string | null): number | null {
  const pid = Number((text ?? '').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

const VERDICTS: readonly Verdict[] = ['up', 'down', 'unknown'];
const finiteAtLeast0 = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * monitor.json -> what the last process handed over, as far as it can be believed: an entry with a value that is not
 * what this version writes (a hand-edited or damaged file, another version's) is dropped, and that target starts
 * afresh. A round-trip estimate that is not a number would leave the monitor unable to call the target down (no echo
 * would ever be past a wait that is NaN).
 */
export function parseSnapshot(text: string | null): MonitorSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? '');
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const out: MonitorSnapshot = {};
  for (const [ip, m] of Object.entries(raw as Record<string, unknown>)) {
    if (!isIPv4(ip) || typeof m !== 'object' || m === null) continue;
    const { srtt, rttvar, verdict, heardAt, lostInRow, at } = m as Record<string, unknown>;
    if ((srtt === null) !== (rttvar === null)) continue;
    if (srtt !== null && !(finiteAtLeast0(srtt) && finiteAtLeast0(rttvar))) continue;
    if (!VERDICTS.includes(verdict as Verdict)) continue;
    const entry: TargetMemory = { srtt: srtt as number | null, rttvar: rttvar as number | null, verdict: verdict as Verdict };
    if (finiteAtLeast0(heardAt)) {
      entry.heardAt = heardAt;
      if (Number.isInteger(lostInRow) && finiteAtLeast0(lostInRow)) entry.lostInRow = lostInRow;
    }
    if (finiteAtLeast0(at)) entry.at = at;
    out[ip] = entry;
  }
  return out;
}

/** retry-budget.json -> the budget handed over, if it is what this version writes; else undefined (a full budget). */
export function parseBudget(text: string | null): BudgetMemory | undefined {
  try {
    const { tokens, at } = JSON.parse(text ?? '') as Record<string, unknown>;
    if (typeof tokens !== 'number' || typeof at !== 'number' || !Number.isFinite(tokens) || !Number.isFinite(at)) return undefined;
    return tokens >= 0 && at >= 0 ? { tokens, at } : undefined;
  } catch {
    return undefined;
  }
}

// ---- load / save (bounded, never throw) ----

/** A hand-over file's text, or null (none, or unreadable: that part starts afresh). */
export async function loadHandOver(path: string, log: Log): Promise<string | null> {
  try {
    return await readText(path);
  } catch (e) {
    log.debug(`runner: cannot read ${path} (${(e as Error).message}); starting that part afresh`);
    return null;
  }
}

/** Keep `value` for the next runner. */
export async function saveHandOver(path: string, value: unknown, log: Log): Promise<void> {
  try {
    await writeFileBounded(path, JSON.stringify(value), { mode: 0o600, dirMode: 0o700 });
  } catch (e) {
    log.debug(`runner: cannot keep ${path} for the next runner: ${(e as Error).message}`);
  }
}

/** Say in runner.next that this process waits for the runner lock; false when it cannot be written. */
export async function saveWaiter(path: string, log: Log): Promise<boolean> {
  try {
    await writeFileBounded(path, `${process.pid}\n`, { mode: 0o600, dirMode: 0o700 });
    return true;
  } catch (e) {
    log.warn(`runner: cannot write ${path} (${(e as Error).message}): the runner before this one hands over at its end instead`);
    return false;
  }
}

/** The pid waiting in runner.next, or null. */
export async function loadWaiter(path: string): Promise<number | null> {
  return parseWaiter(await readText(path).catch(() => null));
}

/** Remove runner.next if it still names this process. */
export async function clearWaiter(path: string): Promise<void> {
  if ((await loadWaiter(path)) === process.pid) await removeFile(path).catch(() => undefined);
}
