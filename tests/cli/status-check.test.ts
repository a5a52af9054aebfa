// Issue 29 on the real CLI (fake ESXi commands, loopback emulators): the status headline and `status --check`'s exit
// codes from real passes, the pin's audit in status and the heartbeat, and the last good config.
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cliLab, DATA, type CliLab } from '../support/cli-lab';

let lab: CliLab;
afterEach(async () => {
  await lab?.close();
});

const check = async (l: CliLab) => {
  const r = await l.run(['status', '--check']);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return r;
};

test('after a steady pass: OK (exit 0); the headline is the first line of status; --json has schema and nulls', async () => {
  lab = await cliLab();
  expect((await lab.run(['loop'])).status).toBe(0);
  const r = await check(lab);
  expect(r.stdout).toMatch(/^REROUTE OK: OK: routed via the local SCVM 127\.0\.0\.15 \| last_pass_age_seconds=\d+ rerouted_seconds=0$/m);
  expect(r.status).toBe(0);
  const plain = await lab.run(['status']);
  expect(plain.stdout.split('\n')[0]).toBe('OK: routed via the local SCVM 127.0.0.15');
  expect(plain.stdout).toMatch(/^runner: +none holds the runner lock; last pass \d+ s ago, ok in \d+ ms$/m);
  const json = JSON.parse((await lab.run(['status', '--json'])).stdout);
  expect(json).toMatchObject({ schema: 'reroute-status/1', severity: 'OK', headline: 'OK: routed via the local SCVM 127.0.0.15', pin: null, api: null, readOnly: null });
  expect(json.config).toEqual({ path: lab.config, lastGood: null });
});

test('no pass for longer than status.criticalLastPassSec and no runner: RUNNER DOWN, CRITICAL (exit 2)', async () => {
  lab = await cliLab({ config: { status: { criticalLastPassSec: 5 } } });
  expect((await lab.run(['loop'])).status).toBe(0);
  await new Promise((r) => setTimeout(r, 6000));
  const r = await check(lab);
  expect(r.stdout).toMatch(/^REROUTE CRITICAL: RUNNER DOWN: last pass [67] s ago, no runner holds the lock/);
  expect(r.status).toBe(2);
});

test('a pin by hand: who, from where and why in status (WARNING, exit 1), the log and the heartbeat', async () => {
  lab = await cliLab();
  for (const e of lab.emus) e.state.heartbeatPinFields = true;
  const env = { SUDO_USER: 'alice', LOGNAME: 'root', SSH_CLIENT: '10.0.0.9 52114 22' };
  const r = await lab.run(['route', '--target', DATA[1], '--reason', 'SCVM-1 disk swap, CHG-77'], { env });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(lab.state().pin).toMatchObject({ target: DATA[1], by: 'alice', from: '10.0.0.9', reason: 'SCVM-1 disk swap, CHG-77' });
  expect(lab.log()).toMatch(/route --target 127\.0\.0\.16: pinned until route --auto by alice from 10\.0\.0\.9 \(reason: SCVM-1 disk swap, CHG-77\)/);
  const c = await check(lab);
  expect(c.stdout).toMatch(/^REROUTE WARNING: PINNED to 127\.0\.0\.16 by alice from 10\.0\.0\.9 until route --auto \(SCVM-1 disk swap, CHG-77\)/);
  expect(c.status).toBe(1);
  const hb = lab.emus[1]!.records.heartbeats.at(-1)!;
  expect(JSON.parse(hb.rawBody!)).toMatchObject({ nfs_target_ip: DATA[1], pin_by: 'alice', pin_from: '10.0.0.9', pin_reason: 'SCVM-1 disk swap, CHG-77', pin_forced: 'false' });
  const json = JSON.parse((await lab.run(['status', '--json'])).stdout);
  expect(json.pin).toMatchObject({ by: 'alice', from: '10.0.0.9', reason: 'SCVM-1 disk swap, CHG-77', force: false, active: true });
  // a reason of more than one line, or with --auto, is refused
  expect((await lab.run(['route', '--target', DATA[1], '--reason', 'a\nb'])).stderr).toMatch(/--reason wants one line/);
  expect((await lab.run(['route', '--auto', '--reason', 'x'])).stderr).toMatch(/--reason goes with --target/);
});

test('an invalid edit: the agent runs on the last good config and says so; status WARNING; fixed, it is gone', async () => {
  lab = await cliLab();
  expect((await lab.run(['loop'])).status).toBe(0);
  const good = readFileSync(lab.config, 'utf8');
  expect(readFileSync(`${lab.config}.last-good`, 'utf8')).toBe(good);
  const bad = JSON.parse(good);
  bad.decide = { backToNormalSec: 0 };
  writeFileSync(lab.config, JSON.stringify(bad));
  const r = await lab.run(['loop']);
  expect(r.status).toBe(0);
  expect(lab.log()).toMatch(/ERROR config .*decide\.backToNormalSec.*; running on the last good config .*config\.json\.last-good \(saved .*\) until it is fixed/);
  expect(readFileSync(`${lab.config}.last-good`, 'utf8')).toBe(good); // the bad edit is never saved as good
  // the event (issue 30): config-rejected, the last good config kept; once, not at every process
  expect((await lab.run(['loop'])).status).toBe(0);
  const events = JSON.parse(readFileSync(join(lab.dir, 'run', 'events.json'), 'utf8')) as { events: { kind: string; kept?: string }[] };
  expect(events.events.filter((e) => e.kind === 'config-rejected')).toEqual([expect.objectContaining({ kept: `${lab.config}.last-good` })]);
  const c = await check(lab);
  expect(c.stdout).toMatch(/^REROUTE WARNING: CONFIG INVALID: config .*backToNormalSec/);
  expect(c.status).toBe(1);
  expect((await lab.run(['config', 'check'])).status).toBe(2); // config check judges the file, not the fallback
  writeFileSync(lab.config, good);
  expect((await check(lab)).status).toBe(0);
});

test('a broken config and no last good one: --check is CRITICAL from the default paths; loop exits 2', async () => {
  lab = await cliLab();
  writeFileSync(lab.config, '{"local": ');
  if (existsSync(`${lab.config}.last-good`)) rmSync(`${lab.config}.last-good`);
  const c = await check(lab);
  expect(c.stdout).toMatch(/^REROUTE CRITICAL: CONFIG INVALID, no last good config: the agent does not run \(config: config file .* is not valid JSON/);
  expect(c.status).toBe(2);
  expect((await lab.run(['loop'])).status).toBe(2);
});
