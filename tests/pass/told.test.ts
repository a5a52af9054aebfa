// A process's teller (lib/pass/told.ts) on real files in a temp dir: the store shared by processes under the pass
// lock, told once by whichever runner delivers, the persistent copy and the metrics file; a store that cannot be
// written costs nothing but the file.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '../../lib/decide';
import { openTold, type PassEnd } from '../../lib/pass/told';
import { initialState } from '../../lib/state/schema';
import { silentLog } from '../../lib/runtime/log';
import { config, input, LOCAL, obs, R16, T0 } from '../decide/builders';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setUp(hook: string | null, hookMs = 5000) {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-told-'));
  const cfg = config({
    paths: { state: join(dir, 'persist', 'state.json'), record: join(dir, 'run', 'record.json'), lock: join(dir, 'run', 'lock'), log: join(dir, 'log') },
    events: { syslog: false },
    hooks: { onEvent: hook, timeoutMs: hookMs },
  });
  return { dir, cfg };
}

/** A pass whose local SCVM stops answering: a switch to R16, told as it takes effect, and what the pass saw. */
function crashPass(cfg: ReturnType<typeof config>): { end: PassEnd; switchTo: Parameters<ReturnType<typeof openTold>['switched']>[0] } {
  const o = obs({ up: { [LOCAL]: false } });
  const { decision, state: engine } = decide(input({ obs: o, config: cfg, now: T0 }));
  const state = { ...initialState(), engine: { ...engine, target: R16 }, lastPass: { at: T0, ok: true, durationMs: 12 } };
  return {
    end: { decision, outcome: { switched: { ok: true, to: R16 } }, obs: o, state, pinBefore: null, byOperator: false, now: T0 },
    switchTo: decision,
  };
}

const storeOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'run', 'events.json'), 'utf8')) as { seq: number; events: { seq: number; kind: string }[]; scvm: { seq: number }[] };

test('a switch: stored on the RAM disk and the persistent disk, told to the hook, the metrics written at once', async () => {
  const { dir, cfg } = setUp(`echo "$REROUTE_SEQ $REROUTE_EVENT $REROUTE_TO" >> ${join('DIR', 'hook')}`.replace('DIR', mkdtempSync(join(tmpdir(), 'reroute-hook-'))));
  const hookFile = cfg.hooks.onEvent!.split('>> ')[1]!;
  const told = openTold(cfg, silentLog, { deliver: true, dryRun: false });
  const { end, switchTo } = crashPass(cfg);
  told.switched(switchTo);
  await told.passDone(end);
  await told.close(5000);
  expect(storeOf(dir).events.map((e) => e.kind)).toEqual(['switch', 'local-down']);
  const lasting = JSON.parse(readFileSync(join(dir, 'persist', 'events.json'), 'utf8')) as { events: { kind: string }[] };
  expect(lasting.events.map((e) => e.kind)).toEqual(['switch']);
  expect(readFileSync(hookFile, 'utf8')).toMatch(/^1 switch 10\.10\.85\.16\n2 local-down \n3 scvm \n$/);
  const prom = readFileSync(join(dir, 'run', 'reroute.prom'), 'utf8');
  expect(prom).toContain('reroute_rerouted 1\n');
  expect(prom).toContain('reroute_switches_total{reason="local-icmp-down"} 1\n');
  expect(prom).toContain('reroute_icmp_loss_ratio{scvm="10.10.85.15"} 1\n');
});

test('the next runner tells what the last one left waiting, and nothing twice; route adds to the same store', async () => {
  const hookDir = mkdtempSync(join(tmpdir(), 'reroute-hook-'));
  const { dir, cfg } = setUp(`echo "$REROUTE_SEQ $REROUTE_EVENT" >> ${hookDir}/hook; sleep 0.3`);
  const first = openTold(cfg, silentLog, { deliver: true, dryRun: false });
  const { end, switchTo } = crashPass(cfg);
  first.switched(switchTo);
  await first.passDone(end); // 3 events, 0.3 s each
  await sleep(100);
  await first.close(0); // the minute ends: one started, two waiting
  // `reroute route` pins meanwhile: its events go to the store only
  const route = openTold(cfg, silentLog, { deliver: false, dryRun: false });
  const pin = { target: R16, until: null, setAt: T0, force: false };
  await route.passDone({ ...end, outcome: {}, pinBefore: null, state: { ...end.state, pin }, byOperator: true });
  await route.close(0);
  const next = openTold(cfg, silentLog, { deliver: true, dryRun: false });
  await next.passDone({ ...end, outcome: {}, pinBefore: pin, state: { ...end.state, pin } });
  await next.close(5000);
  const lines = readFileSync(join(hookDir, 'hook'), 'utf8').trim().split('\n');
  expect(lines).toEqual(['1 switch', '2 local-down', '3 scvm', '4 pin-set']);
  expect(storeOf(dir).seq).toBe(4);
});

test('a store that cannot be written: the events are still told, from memory, and numbered on', async () => {
  const hookDir = mkdtempSync(join(tmpdir(), 'reroute-hook-'));
  const { dir, cfg } = setUp(`echo "$REROUTE_SEQ $REROUTE_EVENT" >> ${hookDir}/hook`);
  mkdirSync(join(dir, 'run'), { recursive: true });
  mkdirSync(join(dir, 'run', 'events.json')); // a directory in its place
  writeFileSync(join(dir, 'run', 'x'), '');
  const told = openTold(cfg, silentLog, { deliver: true, dryRun: false });
  const { end, switchTo } = crashPass(cfg);
  told.switched(switchTo);
  await told.passDone(end);
  const up = obs();
  await told.passDone({ ...end, outcome: {}, obs: up, state: { ...end.state, engine: { ...end.state.engine, local: { ...end.state.engine.local, down: false } } } });
  await told.close(5000);
  expect(readFileSync(join(hookDir, 'hook'), 'utf8').trim().split('\n')).toEqual(['1 switch', '2 local-down', '3 scvm', '4 local-up', '5 scvm']);
});

test('--dry-run tells nothing and writes nothing', async () => {
  const { dir, cfg } = setUp(null);
  const told = openTold(cfg, silentLog, { deliver: true, dryRun: true });
  const { end, switchTo } = crashPass(cfg);
  told.switched(switchTo);
  await told.passDone(end);
  await told.close(100);
  expect(() => readFileSync(join(dir, 'run', 'events.json'))).toThrow(/ENOENT/);
});
