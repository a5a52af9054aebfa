// Issue 29 item 4, as installed (busybox crond, cron's bare environment, production defaults): an invalid edit of the
// config does not take failover away. The runner notices the edit and hands over; its successor runs on the last good
// config and says so. Then a simulated reboot (every agent process killed, the RAM disk emptied) with the config
// still invalid: the next runner starts on the last good config too, and the local SCVM's crash is failed over.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killScvm, sleep, useClusterHarness, waitFor } from '../support/cluster-e2e';
import { install, startRunnerNow, type Installed } from '../support/installed';
import { describeNetns } from '../support/netns';

jest.setTimeout(150_000);

const remote = (who: string | null) => who === 'scvm-2' || who === 'scvm-3';
const FALLBACK = /ERROR config .*decide\.backToNormalSec.*; running on the last good config .*config\.json\.last-good/g;

describeNetns('the last good config, as installed', () => {
  const e2e = useClusterHarness();
  let agent: Installed | undefined;
  afterEach(() => agent?.stop());

  const logOf = (a: Installed) => {
    try {
      return readFileSync(a.log, 'utf8');
    } catch {
      return '';
    }
  };
  const runners = (a: Installed) =>
    a.agentPids().filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv.includes('loop') && !argv.some((x) => x.includes('sleep '));
      } catch {
        return false;
      }
    });

  it('an invalid edit, then a reboot with it: the runner goes on with the last good config and fails over', async () => {
    const cluster = await e2e.up();
    const a = (agent = install(cluster, { persistent: join(cluster.dir, 'persistent') }));
    startRunnerNow(cluster, a);
    const watch = e2e.watchNfs(50);
    await waitFor('the first runner\'s passes', () => a.passes() >= 3, 30_000);
    const good = readFileSync(a.config, 'utf8');
    expect(readFileSync(`${a.config}.last-good`, 'utf8')).toBe(good);

    // the edit: the running runner sees the file change and hands over to a successor on it
    const bad = JSON.parse(good) as { decide?: Record<string, unknown> };
    bad.decide = { ...bad.decide, backToNormalSec: 0 };
    writeFileSync(a.config, JSON.stringify(bad, null, 2), { mode: 0o600 });
    await waitFor('the successor on the last good config', () => (logOf(a).match(FALLBACK) ?? []).length >= 1, 20_000);

    // the reboot: every agent process gone, the RAM disk empty; the next runner starts with the config still invalid
    for (const pid of runners(a)) process.kill(pid, 'SIGKILL');
    for (const f of readdirSync(a.run)) rmSync(join(a.run, f), { recursive: true, force: true });
    startRunnerNow(cluster, a);
    await waitFor('a runner on the last good config after the reboot', () => (logOf(a).match(FALLBACK) ?? []).length >= 2, 20_000);
    await waitFor('its passes', () => a.passes() >= 3, 20_000);

    const t = Date.now();
    await killScvm(cluster, 'scvm-1');
    const out = await watch.waitFirst(t, remote, 5000);
    expect((out.at - t) / 1000).toBeLessThan(5);
    expect(readFileSync(`${a.config}.last-good`, 'utf8')).toBe(good); // never the invalid edit
    await sleep(100);
  });
});
