// Reading and writing the state file and the record file (formats: schema.ts). A state file is never thrown away
// unless it is no state at all: a corrupt one is moved aside (by a pass, under the lock), a newer version's is read as
// far as it is understood and never written. The state file is written only when what it holds changed, so a steady
// pass writes nothing to the host's boot media.
//
// The files are aids (issue 26): every read and write is bounded and off the main thread (runtime/files.ts), and a
// long-lived process carries what it knows from one pass to the next (Memory). A file that cannot be read or written
// costs nothing but the file: the pass goes on from memory, so a full, read-only or hanging disk never shortens the
// stable period, speeds up the API's pace or loses a count. Only a change made by another process (`reroute route`,
// under the same lock) replaces what memory holds.
import { basename, dirname, join } from 'node:path';
import { FileError, StateError } from '../errors';
import { listDir, readText, removeFile, renameFile, writeFileBounded } from '../runtime/files';
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

/**
 * What a long-lived process carries from one pass to the next: the state as its last pass left it, the agent time
 * it ended at, and the texts of both files as this process last read or wrote them (a file found holding one of
 * these is this process's own: memory is newer; any other text was written by another process, which wins).
 */
export interface Memory {
  state: State;
  anchor: ClockAnchor;
  /** the lasting part as the state file holds it, as far as this process knows */
  onDisk: string | null;
  /** the state file's texts this process read or wrote (a write given up may still land) */
  stateTexts: string[];
  recordTexts: string[];
  /** why a file of this process's is not written (a newer agent's), as found when it was read */
  stateReadOnly: string | null;
  recordReadOnly: string | null;
}

export interface LoadedState {
  state: State;
  /** the clock anchor to go on from; null on a first run */
  clock: ClockAnchor | null;
  /** there was no state file */
  firstRun: boolean;
  /** the record file was there (or this process is the one that wrote it): this boot has seen a pass before */
  recordFound: boolean;
  /** why a file must not be written (a newer agent's), else null */
  readOnly: string | null;
  stateReadOnly: string | null;
  recordReadOnly: string | null;
  /** the state file's lasting part as on disk: a save writes the file only when this changed */
  lastingAtLoad: string | null;
  /** whether this pass may write the state file: it was read (or is missing), and no newer agent wrote it */
  writeState: boolean;
  /** whether this pass may write the record file: no newer agent wrote it */
  writeRecord: boolean;
  /** the texts read this pass, for the process's memory */
  stateText: string | null;
  recordText: string | null;
}

export interface LoadOptions {
  /** move a corrupt state file aside (a pass under the lock); `status` only reads */
  moveAsideCorrupt: boolean;
  /** for the name of a file moved aside */
  now?: Date;
  /** what this process carried from its last pass (the long-lived runner) */
  memory?: Memory | null;
}

type Read = { text: string } | { missing: true } | { error: FileError };

async function read(path: string): Promise<Read> {
  try {
    const text = await readText(path);
    return text === null ? { missing: true } : { text };
  } catch (e) {
    return { error: e instanceof FileError ? e : new FileError(path, 'read', 'EIO', (e as Error).message) };
  }
}

/** A file that is there but no file of ours to read (a FIFO, a device, a symlink, far too large): corrupt, not unread. */
const notOurs = (e: FileError) => e.errno === 'ENOTREG' || e.errno === 'EFBIG';

/** Both files, as far as they can be understood. Never throws: a file that cannot be read is logged and left out. */
export async function loadState(paths: StatePaths, log: Log, opts: LoadOptions): Promise<LoadedState> {
  const memory = opts.memory ?? null;
  let state = initialState();
  let clock: ClockAnchor | null = null;
  let firstRun = false;
  let lastingAtLoad: string | null = null;
  let writeState = true;
  let stateReadOnly: string | null = null;
  let recordReadOnly: string | null = null;

  const [file, rec] = await Promise.all([read(paths.state), read(paths.record)]);
  let stateText: string | null = null;
  if ('missing' in file) {
    firstRun = memory === null;
    if (memory) {
      // removed under a running agent: memory holds what it held, and the next save writes it again
      state = { ...memory.state };
      clock = memory.anchor;
    }
  } else if ('error' in file && !notOurs(file.error)) {
    writeState = false; // never write over a file not read
    log.error(`state file ${paths.state} cannot be read (${file.error.errno}): going on from ${memory ? 'memory' : 'a fresh state'}; it is not written until it can be read`);
    if (memory) {
      state = { ...memory.state };
      clock = memory.anchor;
      lastingAtLoad = memory.onDisk;
    }
  } else if ('text' in file && memory?.stateTexts.includes(file.text)) {
    // this process's own: memory is as new or newer (a save that failed leaves the file behind memory)
    stateText = file.text;
    state = { ...memory.state };
    clock = memory.anchor;
    lastingAtLoad = memory.onDisk;
    stateReadOnly = memory.stateReadOnly;
  } else {
    const problem = 'error' in file ? `not a file of the agent (${file.error.message})` : null;
    let parsed: ReturnType<typeof parseStateFile> = { ok: false, problem: problem ?? '' };
    if ('text' in file) {
      stateText = file.text;
      try {
        parsed = parseStateFile(JSON.parse(file.text));
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
        stateReadOnly = `state file ${paths.state} was written by a newer reroute (state version ${parsed.newer})`;
      }
      if (memory) {
        // another process (an operator's `route`) wrote it under the lock: its lasting part wins, memory's record stays
        clock = memory.anchor;
        state = { ...memory.state, pin: state.pin, engine: { ...state.engine, record: memory.state.engine.record }, api: { ...memory.state.api, token: state.api.token } };
      }
    } else {
      firstRun = memory === null;
      if (memory) {
        state = { ...memory.state };
        clock = memory.anchor;
      }
      if (opts.moveAsideCorrupt) {
        const moved = await moveAside(paths.state, parsed.problem, log, opts.now ?? new Date());
        if (!moved) writeState = false;
      } else if (memory === null) {
        state = initialState();
      }
    }
  }

  let recordText: string | null = null;
  let recordFound = memory !== null || 'text' in rec;
  if ('error' in rec && !notOurs(rec.error)) {
    log.error(`record file ${paths.record} cannot be read (${rec.error.errno}): going on from ${memory ? 'memory' : 'a fresh record'}`);
    recordFound = memory !== null;
  } else if ('text' in rec && memory?.recordTexts.includes(rec.text)) {
    recordText = rec.text; // ours: memory already holds it
    recordReadOnly = memory.recordReadOnly;
  } else if ('text' in rec) {
    recordText = rec.text;
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
    if (r.newer !== null) recordReadOnly = `record file ${paths.record} was written by a newer reroute (version ${r.newer})`;
  } else if ('error' in rec) {
    log.warn(`record file ${paths.record} is ${rec.error.message}; a fresh record replaces it`);
  }
  return {
    state,
    clock,
    firstRun,
    recordFound,
    readOnly: [stateReadOnly, recordReadOnly].filter((r) => r !== null).join('; ') || null,
    stateReadOnly,
    recordReadOnly,
    lastingAtLoad,
    writeState: writeState && stateReadOnly === null,
    writeRecord: recordReadOnly === null,
    stateText,
    recordText,
  };
}

async function moveAside(path: string, why: string, log: Log, now: Date): Promise<boolean> {
  const aside = join(dirname(path), `${basename(path)}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`);
  try {
    await renameFile(path, aside);
    log.error(`state file ${path} is ${why}; kept as ${aside} and rebuilt from scratch`);
    return true;
  } catch (e) {
    log.error(`state file ${path} is ${why} and could not be moved aside (${(e as Error).message}); rebuilt in memory`);
    return false;
  }
}

/**
 * Write the state file (durably: fsync of the file and its directory) unless its lasting part is `onDisk`, what the
 * file already holds. Returns the lasting part and the text now on disk (text null: nothing written). Throws
 * StateError when it cannot write (nothing on disk changed then).
 */
export async function saveLasting(path: string, state: State, clock: ClockAnchor, onDisk: string | null): Promise<{ lasting: string; text: string | null }> {
  const lasting = lastingText(state);
  if (lasting === onDisk) return { lasting, text: null };
  const text = stateFileText(state, clock);
  try {
    await writeFileBounded(path, text, { mode: 0o600, dirMode: 0o700, durable: true });
  } catch (e) {
    throw new StateError(`cannot write state file ${path}: ${(e as Error).message}; check the disk and its permissions`, {
      path,
      errno: (e as FileError).errno,
      text,
    });
  }
  return { lasting, text };
}

/** Write the record file (a RAM-backed path: no fsync); returns its text. Throws StateError when it cannot. */
export async function saveRecord(path: string, state: State): Promise<string> {
  const text = recordFileText(state);
  try {
    await writeFileBounded(path, text, { mode: 0o600, dirMode: 0o700 });
  } catch (e) {
    throw new StateError(`cannot write record file ${path}: ${(e as Error).message}; check paths.record`, { path, text });
  }
  return text;
}

/**
 * Remove the temp files of writes of `path` whose process is gone (killed in the middle of a write, or a power cut
 * before the rename reached the disk). Called for the state file, the record and the hand-over files (issue 27: only
 * the state file's were, and each kill during a record write left one on the RAM disk for good). Call with the lock
 * held. Never throws.
 */
export async function removeStaleTemps(path: string, log: Log): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await listDir(dir);
  } catch {
    return; // the directory cannot be read now: the next pass tries again
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      if (await removeFile(join(dir, name))) {
        log.info(`removed ${join(dir, name)}, left by a process (pid ${pid}) that did not finish writing ${basename(path)}`);
      }
    } catch {
      // not ours to remove, or the disk does not answer: the next pass tries again
    }
  }
}
