// Issue 27, "Failover depends on nothing but the network (2)": the runner's replacement and its count, tried on the
// agent exactly as installed (busybox crond, cron's bare environment, production defaults, the cron lines `reroute
// install` writes; tests/support/installed.ts). The first runner is started as the minute's cron line would start it
// (startRunnerNow), not at cron's next minute. These tests wait for wall-clock seconds: one installed agent is shared
// by the kills.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, useClusterHarness, waitFor } from '../support/cluster-e2e';
import { install, runGuardNow, runnerPids, startRunnerNow, type Installed } from '../support/installed';
import { describeNetns } from '../support/netns';

jest.setTimeout(300_000);

/** When the runner's last pass began (agent time: the wall clock where the agent first ran, on the monotonic clock). */
function lastPassAt(record: string): number {
  try {
    return (JSON.parse(readFileSync(record, 'utf8')) as { lastPass?: { at?: number } }).lastPass?.at ?? 0;
  } catch {
    return 0;
  }
}

/** The next moment, at or after `from`, whose second of the minute is `second`. */
function nextAtSecond(from: number, second: number): number {
  const minute = Math.floor(from / 60_000) * 60_000;
  const at = minute + second * 1000;
  return at >= from ? at : at + 60_000;
}

describeNetns('issue 27: the runner as installed', () => {
  const e2e = useClusterHarness();
  let agent: Installed | undefined;
  afterEach(() => {
    agent?.stop();
    agent = undefined;
  });

  it('a runner killed at :00.5, :03, :10.5, :41 or :59 is replaced (the next runner\'s first pass) within 11 s', async () => {
    const cluster = await e2e.up();
    const a = (agent = install(cluster, { persistent: join(cluster.dir, 'scratch') }));
    startRunnerNow(cluster, a);
    await waitFor('the first runner passing', () => a.passes() >= 2, 30_000);
    // crond acts from the first minute boundary after it starts: the kills begin after it, so every line has run once
    let readyAt = Math.floor(Date.now() / 60_000) * 60_000 + 60_000 + 2000;
    const left = [0.5, 3, 10.5, 41, 59];
    const took: Record<string, number> = {};
    while (left.length > 0) {
      // the kill that comes first from here, at least 2 s after the last replacement
      const next = left.map((s) => ({ s, at: nextAtSecond(readyAt, s) })).sort((x, y) => x.at - y.at)[0]!;
      left.splice(left.indexOf(next.s), 1);
      await sleep(next.at - Date.now());
      const pids = runnerPids(a);
      expect(pids.length).toBeGreaterThan(0);
      const tKill = Date.now();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await waitFor(`a runner after the kill at :${next.s}`, () => lastPassAt(a.record) > tKill, 20_000, 50);
      took[`:${next.s}`] = (Date.now() - tKill) / 1000;
      readyAt = Date.now() + 2000;
    }
    process.stdout.write(`issue 27: runner replaced after a kill at ${Object.entries(took).map(([s, t]) => `${s} in ${t.toFixed(1)} s`).join(', ')}\n`);
    for (const t of Object.values(took)) expect(t).toBeLessThanOrEqual(11);
    // crond never skipped a line of ours (busybox crond logs "process already running" for a line it skips: before
    // issue 27 a guard whose job still ran at the minute, every other minute the :50 one)
    const crondLog = readFileSync(join(cluster.dir, 'installed', 'crond.log'), 'utf8');
    expect(crondLog).toMatch(/USER root pid \d+ cmd \(for s in /); // the log names the jobs it starts (the crontab holds only ours)
    expect(crondLog.split('\n').filter((l) => /already running/.test(l))).toEqual([]);
  });

  it('paths moved in the config without a new install: never more than two runners, and the route still followed', async () => {
    const cluster = await e2e.up();
    const a = (agent = install(cluster, { persistent: join(cluster.dir, 'scratch') }));
    // the RAM-disk directory moves (paths.record and the pass lock); the guard line still checks the old runner lock
    const run2 = join(cluster.dir, 'installed', 'run2');
    mkdirSync(run2, { recursive: true });
    const config = JSON.parse(readFileSync(a.config, 'utf8')) as { paths: Record<string, string> };
    config.paths.record = join(run2, 'record.json');
    config.paths.lock = join(run2, 'reroute.lock');
    writeFileSync(a.config, JSON.stringify(config, null, 2), { mode: 0o600 });
    startRunnerNow(cluster, a);
    const record = join(run2, 'record.json');
    await waitFor('the runner passing on the moved paths', () => lastPassAt(record) > 0, 30_000);
    // the guard's checks, one a second (installed: one every 5 s): each finds no runner at the old lock and starts one
    let most = 0;
    const count = setInterval(() => (most = Math.max(most, runnerPids(a).length)), 100);
    try {
      for (let i = 0; i < 6; i++) {
        runGuardNow(cluster);
        await sleep(1000);
      }
      await sleep(3000);
    } finally {
      clearInterval(count);
    }
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2); // the code before the fix: each started one stayed, waiting out the minute
    expect(runnerPids(a)).toHaveLength(1);
    const log = readFileSync(a.log, 'utf8');
    expect(log).toMatch(/holds the runner lock .*run2\/runner\.lock for \d+ s more; this process leaves/);
    // the runner that holds the lock still passes
    const t = Date.now();
    await waitFor('a pass after the guards', () => lastPassAt(record) > t, 10_000);
  });
});
