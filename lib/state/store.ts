// Reading and writing the state file and the record file (formats: schema.ts). A state file is never thrown away
// unless it is no state at all: a corrupt one is moved aside (by a pass, under the lock), a newer version's is read as
// far as it is understood and never written. The state file is written only when what it holds changed, so a steady
// pass writes nothing to the host's boot media.
import { readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateError } from '../errors';
import { writeFileAtomic } from '../runtime/files';
import { pidAlive } from '../runtime/host';
import type { ClockAnchor } from '../runtime/clock';
import type { Log } from '../runtime/log';
import {
  initialState,
  lastingText,
  parseRecordFile,
  parseStateFile,
  recordFileText,
  stateFileText,
  type State,
} from './schema';

export interface StatePaths {
  state: string;
  record: string;
}

export interface LoadedState {
  state: State;
  /** the clock anchor the state file was written at; null on a first run */
  clock: ClockAnchor | null;
  /** there was no state file */
  firstRun: boolean;
  /** the record file was there: this boot has seen a pass before */
  recordFound: boolean;
  /** why a file must not be written (a newer agent's), else null */
  readOnly: string | null;
  /** the state file's lasting part as read: a save writes the file only when this changed */
  lastingAtLoad: string | null;
}

export interface LoadOptions {
  /** move a corrupt state file aside (a pass under the lock); `status` only reads */
  moveAsideCorrupt: boolean;
  /** for the name of a file moved aside */
  now?: Date;
}

function readText(path: string): { text: string } | { missing: true } | { error: string } {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { missing: true } : { error: code ?? String(e) };
  }
}

/** Both files, as far as they can be understood. Never throws for a missing, corrupt or newer file. */
export function loadState(paths: StatePaths, log: Log, opts: LoadOptions): LoadedState {
  const state = initialState();
  let clock: ClockAnchor | null = null;
  let firstRun = false;
  let lastingAtLoad: string | null = null;
  const readOnly: string[] = [];

  const file = readText(paths.state);
  if ('missing' in file) {
    firstRun = true;
  } else {
    const problem = 'error' in file ? `unreadable (${file.error})` : null;
    let raw: unknown;
    let parsed: ReturnType<typeof parseStateFile> = { ok: false, problem: problem ?? '' };
    if (problem === null && 'text' in file) {
      try {
        raw = JSON.parse(file.text);
        parsed = parseStateFile(raw);
      } catch {
        parsed = { ok: false, problem: 'not valid JSON' };
      }
    }
    if (parsed.ok) {
      Object.assign(state, parsed.lasting);
      clock = parsed.clock;
      lastingAtLoad = lastingText(state);
      for (const p of parsed.reset) log.warn(`state file ${paths.state}: the "${p}" part was not understood and starts fresh; the rest is kept`);
      if (parsed.newer !== null) {
        readOnly.push(`state file ${paths.state} was written by a newer reroute (state version ${parsed.newer})`);
      }
    } else {
      firstRun = true;
      if (opts.moveAsideCorrupt) moveAside(paths.state, parsed.problem, log, opts.now ?? new Date());
    }
  }

  const rec = readText(paths.record);
  const recordFound = 'text' in rec;
  if ('text' in rec) {
    let raw: unknown = null;
    try {
      raw = JSON.parse(rec.text);
    } catch {
      log.debug(`record file ${paths.record} is not valid JSON; starting a fresh record`);
    }
    const r = parseRecordFile(raw);
    if (r.record) state.engine = { ...state.engine, record: r.record };
    state.api = { ...state.api, switches: r.switches };
    state.lastPass = r.lastPass;
    state.steadyLoggedAt = r.steadyLoggedAt;
    state.lastList = r.lastList;
    state.listAsked = r.listAsked;
    state.heartbeat = r.heartbeat;
    if (r.newer !== null) readOnly.push(`record file ${paths.record} was written by a newer reroute (version ${r.newer})`);
  }
  return {
    state,
    clock,
    firstRun,
    recordFound,
    readOnly: readOnly.length ? readOnly.join('; ') : null,
    lastingAtLoad,
  };
}

function moveAside(path: string, why: string, log: Log, now: Date): void {
  const aside = join(dirname(path), `${basename(path)}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`);
  try {
    renameSync(path, aside);
    log.error(`state file ${path} is ${why}; kept as ${aside} and rebuilt from scratch`);
  } catch (e) {
    log.error(`state file ${path} is ${why} and could not be moved aside (${(e as Error).message}); rebuilt in memory`);
  }
}

/**
 * Write the state file (durably: fsync of the file and its directory) unless its lasting part is `onDisk`, what the
 * file already holds. Returns the lasting part now on disk. Throws StateError when it cannot write.
 */
export function saveLasting(path: string, state: State, clock: ClockAnchor, onDisk: string | null): string {
  const text = lastingText(state);
  if (text === onDisk) return text;
  try {
    writeFileAtomic(path, stateFileText(state, clock), { mode: 0o600, dirMode: 0o700, durable: true });
  } catch (e) {
    throw new StateError(`cannot write state file ${path}: ${(e as Error).message}; check the disk and its permissions`, {
      path,
    });
  }
  return text;
}

/** Write the record file (a RAM-backed path: no fsync). Throws StateError when it cannot. */
export function saveRecord(path: string, state: State): void {
  try {
    writeFileAtomic(path, recordFileText(state), { mode: 0o600, dirMode: 0o700 });
  } catch (e) {
    throw new StateError(`cannot write record file ${path}: ${(e as Error).message}; check paths.record`, { path });
  }
}

/**
 * Remove the temp files of state writes whose process is gone (killed in the middle of a write, or a power cut before
 * the rename reached the disk). Call with the lock held.
 */
export function removeStaleTemps(path: string, log: Log): void {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no directory yet: nothing left behind
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      log.info(`removed ${join(dir, name)}, left by a pass (pid ${pid}) that did not finish writing the state`);
    } catch {
      // gone already, or not ours to remove: the next pass tries again
    }
  }
}
