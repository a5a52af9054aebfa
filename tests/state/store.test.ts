import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadState, removeStaleTemps, stateText, writeStateText, writeStateTextInBackground } from '../../lib/state/store';
import { initialState, type State } from '../../lib/state/schema';
import { recordingLog } from '../support/log';

const saveState = (path: string, state: State) => writeStateText(path, stateText(state));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'reroute-state-'));
}

describe('state store', () => {
  it('treats a missing file as a first run', () => {
    const log = recordingLog();
    const r = loadState(join(tmp(), 'state.json'), log);
    expect(r.firstRun).toBe(true);
    expect(r.state).toEqual(initialState());
    expect(log.entries).toEqual([]);
  });

  it('round-trips a state, mode 0600, no temp file left', () => {
    const dir = tmp();
    const path = join(dir, 'sub', 'state.json');
    const s = initialState();
    s.pin = { target: '10.10.85.16', until: null, setAt: 1 };
    saveState(path, s);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['state.json']);
    const r = loadState(path, recordingLog());
    expect(r.firstRun).toBe(false);
    expect(r.state.pin).toEqual(s.pin);
  });

  it('moves a corrupt file aside, keeps it, logs, and starts over', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"version":1, "pin": tru');
    const log = recordingLog();
    const now = new Date('2026-11-25T10:00:00Z');
    const r = loadState(path, log, now);
    expect(r.state).toEqual(initialState());
    expect(r.movedAside).toBe(join(dir, 'state.json.corrupt-2026-11-25T10-00-00-000Z'));
    expect(readFileSync(r.movedAside!, 'utf8')).toBe('{"version":1, "pin": tru');
    expect(log.messages('error')[0]).toMatch(/state file .* is not valid JSON .*kept as .*corrupt/);
  });

  it('moves aside a JSON file that is not a reroute state', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    writeFileSync(path, JSON.stringify({ version: 99 }));
    const log = recordingLog();
    const r = loadState(path, log);
    expect(r.movedAside).not.toBeNull();
    expect(log.messages('error')[0]).toMatch(/not a reroute state \(version/);
  });

  it('keeps the pin when only a slice is invalid', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    const s = { ...initialState(), pin: { target: '10.10.85.17', until: 5, setAt: 1 }, engine: 'garbage', api: 7 };
    writeFileSync(path, JSON.stringify(s));
    const log = recordingLog();
    const r = loadState(path, log);
    expect(r.state.pin).toEqual({ target: '10.10.85.17', until: 5, setAt: 1 });
    expect(r.movedAside).toBeNull();
    expect(log.messages('warn').join('\n')).toMatch(/"engine" part was invalid/);
  });

  it('refuses a pin whose target is not an IPv4 address', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    writeFileSync(path, JSON.stringify({ ...initialState(), pin: { target: '-d', until: null, setAt: 1 } }));
    const r = loadState(path, recordingLog());
    expect(r.state.pin).toBeNull();
    expect(r.movedAside).not.toBeNull();
  });

  it('reports an unwritable location as a StateError and leaves the old file', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    saveState(path, initialState());
    const before = readFileSync(path, 'utf8');
    expect(() => saveState(join(path, 'nested.json'), initialState())).toThrow(/cannot write state file/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('writes in the background the same file, mode 0600, or rejects with a StateError and leaves the old one', async () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    const text = stateText(initialState());
    const w = writeStateTextInBackground(path, text);
    expect(await w.inPlace).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(text);
    await w.durable;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['state.json']);
    const bad = writeStateTextInBackground(join(path, 'nested.json'), text);
    expect(await bad.inPlace).toBe(false);
    await expect(bad.durable).rejects.toThrow(/cannot write state file/);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('removes the temp files of writers that are gone, and keeps those of live ones', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is free
    for (const pid of [dead, process.pid]) writeFileSync(join(dir, `.state.json.${pid}.tmp`), '{"half":');
    writeFileSync(join(dir, '.other.json.1.tmp'), 'not ours');
    const log = recordingLog();
    removeStaleTemps(path, log);
    expect(readdirSync(dir).sort()).toEqual(['.other.json.1.tmp', `.state.json.${process.pid}.tmp`]);
    expect(log.messages('info')).toEqual([
      `removed ${join(dir, `.state.json.${dead}.tmp`)}, left by a pass (pid ${dead}) that did not finish writing the state`,
    ]);
    removeStaleTemps(join(dir, 'missing-dir', 'state.json'), log); // no directory: nothing to do, no throw
  });
});
