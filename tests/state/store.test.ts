// The state file and the record file: what goes where, written only when it changed, and never thrown away unless
// it is no state at all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOutcome, decide } from '../../lib/decide';
import { failedPass, initialState, lastingText, STATE_VERSION, type State } from '../../lib/state/schema';
import { loadState, removeStaleTemps, saveLasting, saveRecord, type StatePaths } from '../../lib/state/store';
import { input, LOCAL, R16 } from '../decide/builders';
import { recordingLog } from '../support/log';

const ANCHOR = { boot: 'b-1', mono: 1000, agent: 1_700_000_000_000 };

function paths(): StatePaths & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-state-'));
  return { dir, state: join(dir, 'scratch', 'state.json'), record: join(dir, 'run', 'record.json') };
}

/** A state after a switch to R16 with a pin and a token: something in every part of both files. */
function busyState(): State {
  const s = initialState();
  const out = decide(input({ spec: { up: { [LOCAL]: false } } }));
  s.engine = applyOutcome(out.state, { switched: { ok: true, to: R16 } }, out.decision.localHealthySec ?? 0);
  s.pin = { target: R16, until: null, setAt: 5 };
  s.api = { token: { value: 'tok-1', expiresAt: 99, scvm: '192.168.85.16' }, switches: { enableReroute: true, enableSecondaryDataChannel: false, fetchedAt: 7 } };
  s.lastPass = { at: 9, ok: true, durationMs: 3 };
  return s;
}

const load = (p: StatePaths, moveAsideCorrupt = true) => loadState(p, recordingLog(), { moveAsideCorrupt });

describe('what goes where', () => {
  it('a missing state file is a first run; nothing is logged', async () => {
    const log = recordingLog();
    const r = await loadState(paths(), log, { moveAsideCorrupt: true });
    expect(r).toMatchObject({ firstRun: true, recordFound: false, readOnly: null, clock: null, lastingAtLoad: null });
    expect(r.state).toEqual(initialState());
    expect(log.entries).toEqual([]);
  });

  it('round-trips through both files; the state file (0600) holds no journal, the record file no token', async () => {
    const p = paths();
    const s = busyState();
    await saveLasting(p.state, s, ANCHOR, null);
    await saveRecord(p.record, s);
    expect(statSync(p.state).mode & 0o777).toBe(0o600);
    expect(statSync(p.record).mode & 0o777).toBe(0o600);
    const stateFile = JSON.parse(readFileSync(p.state, 'utf8'));
    expect(Object.keys(stateFile).sort()).toEqual(['api', 'clock', 'engine', 'pin', 'version']);
    expect(stateFile).toMatchObject({ version: STATE_VERSION, clock: ANCHOR, api: { token: s.api.token } });
    expect(stateFile.engine.record).toBeUndefined();
    const recordFile = JSON.parse(readFileSync(p.record, 'utf8'));
    expect(recordFile.engine.journal).toHaveLength(1);
    expect(JSON.stringify(recordFile)).not.toContain('tok-1');
    const r = await load(p);
    expect(r).toMatchObject({ firstRun: false, recordFound: true, readOnly: null, clock: ANCHOR });
    expect(r.state).toEqual(s);
    expect(readdirSync(join(p.dir, 'scratch'))).toEqual(['state.json']);
  });

  it('the state file is written only when what it holds changed (a steady pass writes none)', async () => {
    const p = paths();
    const s = busyState();
    const onDisk = (await saveLasting(p.state, s, ANCHOR, null)).lasting;
    const before = statSync(p.state);
    // only the record changed: another journal entry, a later list
    const steady = { ...s, engine: { ...s.engine, record: { ...s.engine.record, listAt: 12345 } } };
    expect(await saveLasting(p.state, steady, { ...ANCHOR, mono: 9999 }, onDisk)).toEqual({ lasting: onDisk, text: null });
    expect(statSync(p.state).ino).toBe(before.ino);
    expect(statSync(p.state).mtimeMs).toBe(before.mtimeMs);
    // the pin changed: written, with the new anchor
    const pinned = { ...steady, pin: null };
    expect((await saveLasting(p.state, pinned, { ...ANCHOR, mono: 9999 }, onDisk)).lasting).toBe(lastingText(pinned));
    expect(JSON.parse(readFileSync(p.state, 'utf8'))).toMatchObject({ pin: null, clock: { mono: 9999 } });
  });

  it('after a reboot (no record file) the lasting part is all there, with a fresh record', async () => {
    const p = paths();
    const s = busyState();
    await saveLasting(p.state, s, ANCHOR, null);
    const r = await load(p);
    expect(r.recordFound).toBe(false);
    expect(r.state.pin).toEqual(s.pin);
    expect(r.state.engine.target).toBe(R16);
    expect(r.state.engine.record.journal).toEqual([]);
    expect(r.state.api.token).toEqual(s.api.token);
    expect(r.state.api.switches).toBeNull();
  });
});

describe('bad and foreign files', () => {
  it('a corrupt state file is moved aside (kept), logged, and the pass starts over', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    writeFileSync(p.state, '{"version":2, "pin": tru');
    const log = recordingLog();
    const r = await loadState(p, log, { moveAsideCorrupt: true, now: new Date('2026-11-28T10:00:00Z') });
    expect(r.firstRun).toBe(true);
    expect(readdirSync(join(p.dir, 'scratch'))).toEqual(['state.json.corrupt-2026-11-28T10-00-00-000Z']);
    expect(log.messages('error')).toEqual([expect.stringMatching(/is not valid JSON; kept as .*corrupt-2026-11-28T10-00-00-000Z/)]);
  });

  it('status reads a corrupt file without moving or writing anything', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    writeFileSync(p.state, 'garbage');
    const r = await load(p, false);
    expect(r.firstRun).toBe(true);
    expect(readFileSync(p.state, 'utf8')).toBe('garbage');
    expect(readdirSync(join(p.dir, 'scratch'))).toEqual(['state.json']);
  });

  it('one bad part starts fresh on its own; the pin and the rest are kept', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    const raw = JSON.parse(readFileSync(p.state, 'utf8'));
    writeFileSync(p.state, JSON.stringify({ ...raw, engine: { v: 2, target: 42 } }));
    const log = recordingLog();
    const r = await loadState(p, log, { moveAsideCorrupt: true });
    expect(r.state.pin).toEqual(busyState().pin);
    expect(r.state.engine.target).toBeNull();
    expect(log.messages('warn')).toEqual([expect.stringMatching(/the "engine" part was not understood and starts fresh; the rest is kept/)]);
  });

  it('a newer agent\'s state file is read as far as it is understood, and marked read-only (never moved aside)', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    const raw = JSON.parse(readFileSync(p.state, 'utf8'));
    // a version 3 with keys this version does not know, at the top and inside the engine
    const newer = { ...raw, version: 3, quorum: { x: 1 }, engine: { ...raw.engine, v: 2, futureField: [1, 2] } };
    writeFileSync(p.state, JSON.stringify(newer));
    const r = await load(p);
    expect(r.readOnly).toMatch(/written by a newer reroute \(state version 3\)/);
    expect(r.state.pin).toEqual(busyState().pin);
    expect(r.state.engine.target).toBe(R16);
    expect(JSON.parse(readFileSync(p.state, 'utf8'))).toEqual(newer);
  });

  it('an engine key this version does not know is dropped, not a reason to reset the engine', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    const raw = JSON.parse(readFileSync(p.state, 'utf8'));
    writeFileSync(p.state, JSON.stringify({ ...raw, engine: { ...raw.engine, somethingNew: true } }));
    const r = await load(p);
    expect(r.state.engine.target).toBe(R16);
    expect(r.readOnly).toBeNull();
  });

  it('a version 1 file (one file, before the split) is taken over: pin, target, token; a pending refresh stays owed', async () => {
    const p = paths();
    const v1 = {
      version: 1,
      pin: { target: R16, until: null, setAt: 1 },
      engine: {
        v: 1,
        target: R16,
        local: { down: true, healthySince: null, downSince: 5 },
        damping: { penalty: 1, penaltyAt: 5, relapses: [5] },
        sessions: { at: 5, from: '192.168.85.16', known: [{ dataIp: LOCAL, manageIp: null, zone: null, sessionId: 's', alive: false, lastSeenAt: 5 }] },
        activeDataIps: [R16],
        secondaryChannel: false,
        refreshPending: { target: R16, since: 5, attempts: 2, lastError: 'HTTP 503' },
        journal: [],
        warnedAt: {},
      },
      api: { token: null, switches: null },
      lastPass: null,
    };
    spawnSync('mkdir', ['-p', join(p.dir, 'scratch')]);
    writeFileSync(p.state, JSON.stringify(v1));
    const r = await load(p);
    expect(r.readOnly).toBeNull();
    expect(r.state.pin).toEqual(v1.pin);
    expect(r.state.engine).toMatchObject({ v: 2, target: R16, refreshed: null, sessions: { everSeen: true } });
    expect(r.state.engine.local).toEqual({ ...v1.engine.local, sessionBadAt: [], sessionBadBy: {} });
    expect(r.state.engine.sessions.known).toEqual([{ dataIp: LOCAL, manageIp: null, zone: null, sessionId: 's', alive: false }]);
  });

  it('a corrupt record file is just a fresh record (it is only a record)', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    await saveRecord(p.record, busyState());
    writeFileSync(p.record, 'garbage');
    const r = await load(p);
    expect(r.recordFound).toBe(true);
    expect(r.state.engine.record.journal).toEqual([]);
    expect(r.state.engine.target).toBe(R16);
  });
});

describe('temp files left by killed writes', () => {
  it('removes those of dead processes only', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    const dead = spawnSync('true').pid!;
    const scratch = join(p.dir, 'scratch');
    writeFileSync(join(scratch, `.state.json.${dead}.tmp`), 'x');
    writeFileSync(join(scratch, `.state.json.${process.pid}.tmp`), 'x');
    writeFileSync(join(scratch, '.state.json.notapid.tmp'), 'x');
    const log = recordingLog();
    await removeStaleTemps(p.state, log);
    expect(existsSync(join(scratch, `.state.json.${dead}.tmp`))).toBe(false);
    expect(existsSync(join(scratch, `.state.json.${process.pid}.tmp`))).toBe(true);
    expect(existsSync(join(scratch, '.state.json.notapid.tmp'))).toBe(true);
    expect(log.messages('info')).toEqual([expect.stringMatching(new RegExp(`left by a process \\(pid ${dead}\\) that did not finish writing state.json`))]);
  });
});

describe('issue 26: a long-lived process carries its state in memory; the files are aids', () => {
  const memoryOf = (s: State, stateText: string | null, recordText: string | null) => ({
    state: s,
    anchor: ANCHOR,
    onDisk: stateText === null ? null : lastingText(s),
    stateTexts: stateText === null ? [] : [stateText],
    recordTexts: recordText === null ? [] : [recordText],
    stateReadOnly: null,
    recordReadOnly: null,
  });

  it('a file holding what this process last read or wrote is its own: memory (newer, its save failed) wins', async () => {
    const p = paths();
    const old = busyState();
    const { text } = await saveLasting(p.state, old, ANCHOR, null);
    const recordText = await saveRecord(p.record, old);
    // the process went on: a relapse counted, a heartbeat sent, but neither file could be written
    const ahead = { ...old, heartbeat: { at: 42, to: R16, ok: true }, engine: { ...old.engine, damping: { ...old.engine.damping, relapses: [1, 2] } } };
    const r = await loadState(p, recordingLog(), { moveAsideCorrupt: true, memory: memoryOf(ahead, text, recordText) });
    expect(r.state).toEqual(ahead);
    expect(r.writeState).toBe(true);
  });

  it('a state file another process wrote (an operator\'s pin, under the lock) wins for its lasting part; memory keeps the record', async () => {
    const p = paths();
    const mine = busyState();
    const { text } = await saveLasting(p.state, mine, ANCHOR, null);
    const theirs = { ...mine, pin: { target: LOCAL, until: null, setAt: 77 } };
    await saveLasting(p.state, theirs, ANCHOR, null);
    const ahead = { ...mine, heartbeat: { at: 42, to: R16, ok: true } };
    const r = await loadState(p, recordingLog(), { moveAsideCorrupt: true, memory: memoryOf(ahead, text, null) });
    expect(r.state.pin).toEqual(theirs.pin);
    expect(r.state.heartbeat).toEqual(ahead.heartbeat);
  });

  it('a state file that is no file (a directory, a FIFO) is moved aside like a corrupt one, and memory carries on', async () => {
    const p = paths();
    const s = busyState();
    await saveLasting(p.state, s, ANCHOR, null);
    const log = recordingLog();
    spawnSync('rm', ['-f', p.state]);
    spawnSync('mkdir', [p.state]);
    const r = await loadState(p, log, { moveAsideCorrupt: true, memory: memoryOf(s, null, null) });
    expect(r.state.pin).toEqual(s.pin);
    expect(log.messages('error')).toEqual([expect.stringMatching(/not a file of the agent.*kept as/)]);
  });

  it('a newer agent\'s state file is not written, but the record still is (its counts reach their thresholds)', async () => {
    const p = paths();
    await saveLasting(p.state, busyState(), ANCHOR, null);
    const raw = JSON.parse(readFileSync(p.state, 'utf8'));
    writeFileSync(p.state, JSON.stringify({ ...raw, version: 99 }));
    const r = await load(p);
    expect(r).toMatchObject({ writeState: false, writeRecord: true });
    expect(r.readOnly).toMatch(/newer reroute \(state version 99\)/);
    // and on every later pass of the process, whose memory holds that file's text as its own
    const again = await loadState(p, recordingLog(), {
      moveAsideCorrupt: true,
      memory: { ...memoryOf(r.state, r.stateText, null), stateReadOnly: r.stateReadOnly },
    });
    expect(again).toMatchObject({ writeState: false, writeRecord: true });
  });
});

describe('a failed pass (issue 32)', () => {
  it('keeps its error\'s first line and the last good pass: after a good one, its start; after a failed one, its okAt', () => {
    const first = failedPass({ at: 100, ok: true, durationMs: 3 }, 200, 5, 'the pass ran past its deadline\n    at x (y.js:1)');
    expect(first).toEqual({ at: 200, ok: false, durationMs: 5, error: 'the pass ran past its deadline', okAt: 100 });
    expect(failedPass(first, 300, 5, 'again')).toMatchObject({ at: 300, okAt: 100 });
    expect(failedPass(null, 300, 5, 'first ever')).toMatchObject({ okAt: null });
  });

  it('survives the record file: written and read back', async () => {
    const p = paths();
    const s = busyState();
    s.lastPass = failedPass(s.lastPass, 20, 4, 'route change to 10.0.0.16 failed: exit 1');
    await saveRecord(p.record, s);
    expect((await load(p)).state.lastPass).toEqual({ at: 20, ok: false, durationMs: 4, error: 'route change to 10.0.0.16 failed: exit 1', okAt: 9 });
  });
});
