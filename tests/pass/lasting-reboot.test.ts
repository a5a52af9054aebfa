// Issue 31: the switch and pin events survive a reboot. The event store is on the RAM disk and goes at a reboot; the
// persistent copy (events.json beside the state file) keeps the last events.keepLasting switches and pins across
// any number of them, in order and within its size, and a timeline drawn after the reboot has every one of them.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '../../lib/decide';
import { buildModel } from '../../lib/cli/timeline/model';
import { openTold } from '../../lib/pass/told';
import { parseLasting } from '../../lib/state/events';
import { initialState } from '../../lib/state/schema';
import { silentLog } from '../../lib/runtime/log';
import { config, input, LOCAL, obs, R16, T0 } from '../decide/builders';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('three boots of 30 switches each: the persistent copy holds the last 50, oldest first, under 20 KB; the RAM store only its boot', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-lasting-'));
  const cfg = config({
    paths: { state: join(dir, 'persist', 'state.json'), record: join(dir, 'run', 'record.json'), lock: join(dir, 'run', 'lock'), log: join(dir, 'log') },
    events: { syslog: false },
    hooks: { onEvent: null },
  });
  expect(cfg.events.keepLasting).toBe(50);
  // a real switch: the local SCVM stops answering, the engine moves the route to R16 (its reason as the agent words it)
  const o = obs({ up: { [LOCAL]: false } });
  const { decision, state: engine } = decide(input({ obs: o, config: cfg, now: T0 }));
  const state = { ...initialState(), engine: { ...engine, target: R16 }, lastPass: { at: T0, ok: true, durationMs: 12 } };
  const end = { decision, outcome: { switched: { ok: true, to: R16 } }, obs: o, state, pinBefore: null, byOperator: false, now: T0 };

  const told: number[] = [];
  for (let boot = 0; boot < 3; boot++) {
    for (let i = 0; i < 30; i++) {
      const runner = openTold(cfg, silentLog, { deliver: false, dryRun: false });
      const before = Date.now();
      runner.switched(decision);
      await runner.passDone(end);
      await runner.close(0);
      told.push(before);
      await sleep(2); // one switch a millisecond at most: each its own time
    }
    const ram = JSON.parse(readFileSync(join(dir, 'run', 'events.json'), 'utf8')) as { events: { kind: string }[] };
    expect(ram.events.filter((e) => e.kind === 'switch')).toHaveLength(30);
    rmSync(join(dir, 'run'), { recursive: true, force: true }); // the reboot: the RAM disk is emptied
  }

  const file = join(dir, 'persist', 'events.json');
  const lasting = parseLasting(readFileSync(file, 'utf8'));
  expect(lasting).toHaveLength(50);
  expect(lasting.every((e) => e.kind === 'switch' && e.to === R16 && e.reason === decision.reason)).toBe(true);
  const ats = lasting.map((e) => e.at);
  expect([...ats].sort((a, b) => a - b)).toEqual(ats);
  expect(ats[0]).toBeGreaterThanOrEqual(told[40]!); // the last 50 of 90: from the 41st on
  expect(statSync(file).size).toBeLessThan(20 * 1024); // docs/events.md: about 400 bytes an event, at most 20 KB

  // drawn after the reboot: no lanes (the RAM store is gone), a mark for every switch kept
  const m = buildModel({
    title: 'after the reboot',
    from: ats[0]! - 1000,
    to: Date.now(),
    localIp: LOCAL,
    scvms: [LOCAL, R16],
    events: lasting,
    lanes: false,
    now: null,
    axis: { kind: 'clock', utcOffsetMin: 0 },
    notes: [],
  });
  expect(m.lanes).toBeNull();
  expect(m.marks).toHaveLength(50);
});
