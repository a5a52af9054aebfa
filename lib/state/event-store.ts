// The event store's files (formats: events.ts), each read and written bounded and off the main thread:
//   events.json   beside the record (RAM disk): the last events, what was last noted, the counters; under the pass lock
//   events.sent   beside it: how far syslog and the hook started delivering; written by the delivering process only
//   events.json   beside the state file (persistent): the last switch and pin events; written only when one happens
// All are aids (docs/state.md): one that cannot be read starts afresh, one that cannot be written is logged at debug
// and the process goes on from memory.
import { dirname, join } from 'node:path';
import { readText, writeFileBounded } from '../runtime/files';
import type { Log } from '../runtime/log';
import { EVENTS_VERSION, LASTING_KINDS, parseLasting, parseSent, parseStore, type AgentEvent, type EventStore, type Sent } from './events';

export interface EventPaths {
  store: string;
  sent: string;
  lasting: string;
}

/** The event files for a config's record and state paths. */
export function eventPaths(paths: { record: string; state: string }): EventPaths {
  const run = dirname(paths.record);
  return { store: join(run, 'events.json'), sent: join(run, 'events.sent'), lasting: join(dirname(paths.state), 'events.json') };
}

/** The store's text and what it holds (null: missing, unreadable or none of this version's); never throws. */
export async function loadStore(path: string, log: Log): Promise<{ text: string | null; store: EventStore | null }> {
  try {
    const text = await readText(path);
    return { text, store: parseStore(text) };
  } catch (e) {
    log.debug(`events: cannot read ${path} (${(e as Error).message}); going on from memory`);
    return { text: null, store: null };
  }
}

/** Write the store; its text, or null when it could not be written (logged at debug: memory holds it). */
export async function saveStore(path: string, store: EventStore, log: Log): Promise<string | null> {
  const text = JSON.stringify(store) + '\n';
  try {
    await writeFileBounded(path, text, { mode: 0o600, dirMode: 0o700 });
    return text;
  } catch (e) {
    log.debug(`events: cannot write ${path} (${(e as Error).message}); going on from memory`);
    return null;
  }
}

export async function loadSent(path: string, epoch: string): Promise<Sent> {
  return parseSent(await readText(path).catch(() => null), epoch);
}

export async function saveSent(path: string, sent: Sent, log: Log): Promise<void> {
  try {
    await writeFileBounded(path, JSON.stringify(sent) + '\n', { mode: 0o600, dirMode: 0o700 });
  } catch (e) {
    log.debug(`events: cannot write ${path} (${(e as Error).message})`);
  }
}

/** Add the switch and pin events among `events` to the persistent file, keeping its last `keep`; durable. */
export async function saveLasting(path: string, events: AgentEvent[], keep: number, log: Log): Promise<void> {
  const add = events.filter((e) => LASTING_KINDS.includes(e.kind));
  if (add.length === 0) return;
  try {
    const had = parseLasting(await readText(path));
    const kept = [...had.filter((h) => !add.some((a) => a.at === h.at && a.kind === h.kind)), ...add].slice(-keep);
    await writeFileBounded(path, JSON.stringify({ version: EVENTS_VERSION, events: kept }) + '\n', { mode: 0o600, dirMode: 0o700, durable: true });
  } catch (e) {
    log.warn(`events: cannot keep ${add.map((a) => a.kind).join(', ')} in ${path} (${(e as Error).message}); the RAM store and syslog have it`);
  }
}
