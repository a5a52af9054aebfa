// The agent as `reroute install` sets it up, across real minutes: the cron lines install writes (the minute's runner
// on two lines, even and odd minutes, and the guards), run by a real busybox crond in cron's bare environment, at
// production defaults. The other e2e tests start runners by hand; this one lets cron start them and checks the
// hand-over from one minute's process to the next as deployed: a pass every second on both sides of a minute boundary,
// one process at a time. It takes up to two and a half minutes (it waits for cron's minutes).
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeNetns } from '../support/netns';
import { sleep, useClusterHarness, waitFor } from '../support/cluster-e2e';
import { install, type Installed } from '../support/installed';

jest.setTimeout(240_000);

describeNetns('e2e: the agent as installed, across minutes', () => {
  const e2e = useClusterHarness();
  let agent: Installed | undefined;
  afterEach(() => agent?.stop());

  it("cron's runners pass every second across a minute's hand-over, one process at a time", async () => {
    const cluster = await e2e.up();
    agent = install(cluster, { persistent: join(cluster.dir, 'persistent') });
    const runnerLock = join(cluster.dir, 'installed', 'run', 'runner.lock');
    const starts = new Set<number>();
    const runners = new Set<number>();
    const seen = setInterval(() => {
      try {
        const at = (JSON.parse(readFileSync(agent!.record, 'utf8')) as { lastPass?: { at?: number } }).lastPass?.at;
        if (typeof at === 'number') starts.add(at);
        const owner = /^pid=(\d+) /.exec(readlinkSync(runnerLock)); // a lock is a symlink to its owner record
        if (owner) runners.add(Number(owner[1]));
      } catch {
        // between a rename and the next read, or before the first pass
      }
    }, 50);
    try {
      // cron starts the first runner at the next minute boundary
      await waitFor('the first runner passing', () => starts.size >= 2, 75_000);
      const firstRunner = [...runners][0];
      // through the next boundary: that runner hands over to the one cron starts then
      const nextBoundary = 60_000 - (Date.now() % 60_000);
      await sleep(nextBoundary + 8_000);
      expect(runners.size).toBeGreaterThanOrEqual(2);
      expect([...runners]).toContain(firstRunner);
    } finally {
      clearInterval(seen);
    }
    const at = [...starts].sort((a, b) => a - b);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // about a pass a second for the whole time, the hand-over included; margins for a loaded machine
    expect(at.length).toBeGreaterThan(((at.at(-1)! - at[0]!) / 1000) * 0.8);
    expect(Math.max(...gaps)).toBeLessThan(1000 + 1500);
    expect(Math.min(...gaps)).toBeGreaterThan(0); // one pass at a time, under the lock
    const log = readFileSync(agent.log, 'utf8');
    expect(log).not.toMatch(/\bERROR\b|watchdog/);
  });
});
