// Issue 16: the self-contained bundle as the agent. Cron in the host namespace runs the bundle's launcher
// (dist/bundle/bin/reroute: the single executable through the bundled loader and libraries, raw.node from the bundle),
// with the ESXi fakes moving the real table. The local SCVM crashes: traffic must reach a remote SCVM.
import { PLAN } from '../support/cluster';
import { BUNDLE_LAUNCHER, ensureBundle } from '../support/bundle';
import { killScvm, sleep, switchesOf, useClusterHarness, waitFor } from '../support/cluster-e2e';
import { describeNetns } from '../support/netns';

jest.setTimeout(120_000);

describeNetns('e2e: the bundle as the agent', () => {
  const e2e = useClusterHarness();
  beforeAll(() => ensureBundle());

  it('esxi flavour: the local SCVM crashes, NFS traffic reaches a remote SCVM', async () => {
    const cluster = await e2e.up({ flavour: 'esxi', agent: [BUNDLE_LAUNCHER] });
    expect(cluster.agent).toEqual([BUNDLE_LAUNCHER]);
    const watch = e2e.watchNfs(100);
    const runs = e2e.startCron(1000);
    await waitFor('two passes', () => runs.passes.filter((p) => p.code === 0).length >= 2, 20_000);
    expect(watch.samples.every((s) => s.who === 'scvm-1')).toBe(true);

    const t0 = Date.now();
    await killScvm(cluster, 'scvm-1');
    const out = await watch.waitFirst(t0, (w) => w === 'scvm-2' || w === 'scvm-3', 15_000);
    const remoteIp = PLAN.scvms.find((s) => s.name === out.who)!.dataIp;
    await sleep(1500);
    const passes = await runs.stop();

    // cron does not wait for a pass: one still running at the next tick (a loaded machine) makes that run exit 3
    // (locked) at once, saying so on stderr and touching nothing. Every run either does its pass or finds the lock held.
    expect(passes.filter((p) => p.code !== 0 && p.code !== 3)).toEqual([]);
    expect(passes.filter((p) => p.code === 0).map((p) => p.stderr)).toEqual(passes.filter((p) => p.code === 0).map(() => ''));
    for (const p of passes.filter((x) => x.code === 3)) expect(p.stderr).toMatch(/^reroute: another reroute pass holds the lock .*this run did nothing\n$/);
    expect(cluster.hostRoute()).toEqual([remoteIp]);
    expect(switchesOf(cluster).map((j) => [j.to, j.reason])).toEqual([[remoteIp, 'local-icmp-down']]);
    console.log(`bundle agent: failover ${((out.at - t0) / 1000).toFixed(2)} s to ${out.who}`);
  });
});
