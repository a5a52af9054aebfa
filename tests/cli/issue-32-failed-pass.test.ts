// Issue 32: a pass that fails is recorded (lastPass.ok false and its error's first line in the record file), and
// `status` and `status --check` say so; before, lastPass.ok was only ever written true and status's FAILED was dead.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA, useCliLabs, type CliLab } from '../support/cli-lab';

const lab = useCliLabs();
// a pass deadline short enough for a test; the API's budget within it
const SHORT = { config: { passDeadlineMs: 2500 }, api: { requestTimeoutMs: 1000, budgetMs: 2000, hedgeFloorMs: 1000, hedgeCeilingMs: 1000 } };
const lastPass = (l: CliLab) => (JSON.parse(readFileSync(join(l.dir, 'run', 'record.json'), 'utf8')) as { lastPass: Record<string, unknown> }).lastPass;

test('a one-pass loop past its deadline: recorded as failed; status FAILED, --check CRITICAL; the next good pass clears it', async () => {
  const l = await lab({ ...SHORT, config: { ...SHORT.config, status: { criticalLastPassSec: 600 } } });
  const first = await l.run(['loop']);
  expect(first.stderr).toBe('');
  const good = lastPass(l);
  l.host.writeState({ hang: ['-l'] }); // the route table does not answer
  const r = await l.run(['loop']);
  expect(r.status).toBe(1);
  l.host.writeState({ hang: [] }); // status reads the route too
  expect(lastPass(l)).toMatchObject({ ok: false, error: expect.stringMatching(/^the pass \(while .*\) ran past its deadline of 2500 ms$/), okAt: good.at });
  const plain = await l.run(['status']);
  expect(plain.stdout).toMatch(/^runner: .*last pass \d+ s ago, FAILED: the pass \(while .*\) ran past its deadline of 2500 ms in \d+ ms$/m);
  const c = await l.run(['status', '--check']);
  // failing for less than status.criticalLastPassSec: a warning
  expect(c.stdout).toMatch(/^REROUTE WARNING: LAST PASS FAILED at \d{4}-.*: the pass \(while .*\) ran past its deadline of 2500 ms \(the last good pass \d+ s ago\)/);
  expect(c.status).toBe(1);
  expect((await l.run(['loop'])).status).toBe(0);
  expect(lastPass(l)).toEqual({ at: expect.any(Number), ok: true, durationMs: expect.any(Number) });
  expect((await l.run(['status', '--check'])).status).toBe(0);
});

test('a failed route change: the pass is recorded as failed with the command\'s error; never a good pass: CRITICAL', async () => {
  const l = await lab();
  l.host.writeState({ fail: { add: true, delete: true } });
  expect((await l.run(['route', '--target', DATA[1]])).status).toBe(1);
  expect(lastPass(l)).toMatchObject({ ok: false, error: expect.stringMatching(/^route change to 127\.0\.0\.16 failed: .*simulated failure/), okAt: null });
  const c = await l.run(['status', '--check']);
  expect(c.stdout).toMatch(/^REROUTE CRITICAL: LAST PASS FAILED at .*: route change to 127\.0\.0\.16 failed: .*\(no pass went well before it\)/);
  expect(c.status).toBe(2);
});

test('the runner: a pass past its deadline is recorded before the runner ends', async () => {
  const l = await lab(SHORT);
  l.host.writeState({ hang: ['-l'] });
  const r = await l.run(['loop', '--every', '1', '--for', '10']);
  expect(r.status).toBe(1);
  l.host.writeState({ hang: [] });
  expect(lastPass(l)).toMatchObject({ ok: false, error: expect.stringMatching(/ran past its deadline of 2500 ms$/), okAt: null });
  const c = await l.run(['status', '--check']);
  expect(c.stdout).toMatch(/^REROUTE CRITICAL: .*LAST PASS FAILED at .*ran past its deadline of 2500 ms \(no pass went well before it\)/);
});
