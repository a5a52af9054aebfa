// Issue 18 items 1-2: the session list and the heartbeat at their pace, carried across processes in the record file;
// a fresh list whenever it can matter. The policy as functions, then the real CLI (one process a pass, as across the
// minute's hand-over) against the ZBS emulators on loopback.
import { heartbeatDue, listToReuse } from '../../lib/pass/pacing';
import { initialState, type State } from '../../lib/state/schema';
import { cliLab, DATA, type CliLab } from '../support/cli-lab';
import { config as labConfig } from '../decide/builders';

const config = labConfig();
const T = 1_800_000_000_000;
const list = { from: '10.10.85.15', sessions: [] };

function stateWith(over: Partial<State>): State {
  return { ...initialState(), ...over };
}

describe('listToReuse', () => {
  it('asks when nothing was asked yet, when the pace has passed, and when the clock went back', () => {
    expect(listToReuse(stateWith({}), config, T, false)).toBeNull();
    const asked = stateWith({ listAsked: { at: T, ok: true }, lastList: list });
    expect(listToReuse(asked, config, T + 2999, false)).toMatchObject({ ok: true, reused: true, from: list.from });
    expect(listToReuse(asked, config, T + 3000, false)).toBeNull();
    expect(listToReuse(asked, config, T - 1, false)).toBeNull();
  });

  it('asks at once after a verdict change, and while session-only evidence waits for confirmation', () => {
    const asked = stateWith({ listAsked: { at: T, ok: true }, lastList: list });
    expect(listToReuse(asked, config, T + 1000, true)).toBeNull();
    const suspect = stateWith({ listAsked: { at: T, ok: true }, lastList: list });
    suspect.engine = { ...suspect.engine, local: { ...suspect.engine.local, sessionBadAt: [T] } };
    expect(listToReuse(suspect, config, T + 1000, false)).toBeNull();
  });

  it('a failed ask waits its turn, and the pass knows why it has no list', () => {
    const failed = stateWith({ listAsked: { at: T, ok: false }, lastList: list });
    expect(listToReuse(failed, config, T + 1000, false)).toEqual({
      ok: false,
      reason: 'the last ask failed 1 s ago; asked again every api.sessionsEverySec (3 s)',
      reused: true,
    });
    expect(listToReuse(failed, config, T + 3000, false)).toBeNull();
  });
});

describe('heartbeatDue', () => {
  it('every api.heartbeatEverySec, at once for a new target, whether or not the last got through', () => {
    expect(heartbeatDue(null, 'a', config, T)).toBe(true);
    expect(heartbeatDue({ at: T, to: 'a', ok: true }, 'a', config, T + 9999)).toBe(false);
    expect(heartbeatDue({ at: T, to: 'a', ok: false }, 'a', config, T + 9999)).toBe(false);
    expect(heartbeatDue({ at: T, to: 'a', ok: true }, 'a', config, T + 10_000)).toBe(true);
    expect(heartbeatDue({ at: T, to: 'a', ok: true }, 'b', config, T + 1)).toBe(true);
  });
});

describe('the pace across processes (the real CLI)', () => {
  let lab: CliLab | null = null;
  afterEach(async () => {
    await lab?.close();
    lab = null;
  });
  const count = (l: CliLab, kind: 'sessionLists' | 'heartbeats') => l.emus.reduce((n, e) => n + e.records[kind].length, 0);
  // paces longer than the test, so that a slow machine's passes still fall inside them
  const api = { sessionsEverySec: 60, heartbeatEverySec: 60 };

  it('back-to-back passes ask once and beat once; a switch asks again and beats to the new target at once', async () => {
    lab = await cliLab({ api });
    for (let i = 0; i < 3; i++) expect((await lab.run(['loop'])).status).toBe(0);
    expect(count(lab, 'sessionLists')).toBe(1);
    expect(count(lab, 'heartbeats')).toBe(1);
    expect(lab.state().engine.target).toBe(DATA[0]);

    expect((await lab.run(['route', '--target', DATA[1]])).status).toBe(0);
    expect(lab.vipVia()).toEqual([DATA[1]]);
    expect(count(lab, 'sessionLists')).toBe(2);
    // (accepted ones: the pin's first heartbeat carries its audit fields, which these emulators refuse: resent without)
    const beats = lab.emus.flatMap((e) => e.records.heartbeats.filter((h) => h.status === 200).map((h) => h.body as { nfs_target_ip: string }));
    expect(beats.map((b) => b.nfs_target_ip)).toEqual([DATA[0], DATA[1]]);
  });

  it('a failing list is not asked again by every pass', async () => {
    lab = await cliLab({ api });
    lab.emus.forEach((e) => e.patch({ faults: { sessions: { status: 503 } } }));
    expect((await lab.run(['loop'])).status).toBe(0);
    const firstPass = count(lab, 'sessionLists');
    expect(firstPass).toBeGreaterThanOrEqual(1); // one ask, raced over the SCVMs
    expect(firstPass).toBeLessThanOrEqual(3);
    for (let i = 0; i < 2; i++) expect((await lab.run(['loop'])).status).toBe(0);
    expect(count(lab, 'sessionLists')).toBe(firstPass);
  });
});
