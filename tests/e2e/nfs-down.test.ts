// Issue 15 case 5: ICMP and the session can both be fine while the SCVM's NFS service is dead (the cluster's nfs-down
// fault drops NFS connections; ping and the API still answer). With the data-path check on, the route leaves the
// local SCVM after nfsCheck.failures failed checks in a row and new NFS connections land on a remote SCVM (the check
// is on by default; the test shortens its timeout). With it off nothing moves. Each pass is the real bin/reroute run by a 1 s cron inside the host namespace.
import { PLAN } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { journalOf, lastAt, sleep, switchesOf, useClusterHarness, waitFor } from '../support/cluster-e2e';

jest.setTimeout(90_000);

const LOCAL = PLAN.scvms[0].dataIp;

describeNetns('e2e: issue 15 case 5, the NFS data path', () => {
  const e2e = useClusterHarness();

  it('with the check on, the nfs-down fault on the local SCVM moves the route to a remote SCVM, and NFS answers there', async () => {
    const cluster = await e2e.up({
      // a long stable period: the local SCVM's NFS is unknown once the route is elsewhere, and the test ends before
      // the route would go back to find out
      config: { nfsCheck: { enabled: true, timeoutMs: 1000, failures: 3 }, decide: { backToNormalSec: 300, maxBackToNormalSec: 600 } },
    });
    const watch = e2e.watchNfs(200);
    const runs = e2e.startCron(1000);
    await waitFor('two passes', () => runs.passes.filter((p) => p.code === 0).length >= 2, 15_000);

    const t0 = Date.now();
    await cluster.fault('scvm-1', 'nfs-down');
    const out = await watch.waitFirst(t0, (w) => w === 'scvm-2' || w === 'scvm-3', 30_000);
    await sleep(2000);
    await runs.stop();

    const remoteIp = PLAN.scvms.find((s) => s.name === out.who)!.dataIp;
    expect(cluster.hostRoute()).toEqual([remoteIp]);
    // NFS answered there, from the switch on
    expect(watch.samples.filter((s) => s.at > out.at + 1000).every((s) => s.who === out.who)).toBe(true);
    const sw = switchesOf(cluster);
    expect(sw.map((j) => [j.to, j.reason])).toEqual([[remoteIp, 'local-nfs-down']]);
    expect(sw[0]!.because).toMatch(/^local SCVM 10\.10\.85\.15 answers ping but not NFS \(3 checks in a row failed, the last: no answer from 192\.168\.33\.2:2049 within 1000 ms\)/);
    // ping and the session stayed fine throughout; one failed check was not enough: the route stayed for two passes
    const after = journalOf(cluster).filter((j) => lastAt(j) > t0);
    expect(after.filter((j) => j.change)).toEqual([sw[0]]);
    const kept = runs.passes.filter((p) => p.startedAt > t0 && p.startedAt < sw[0]!.at - 200 && p.code === 0);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(after.filter((j) => ['icmp-down', 'session-missing', 'session-dead'].includes(j.local))).toEqual([]);
    expect(cluster.readLog()).toMatch(/WARN .*NFS data path via 10\.10\.85\.15: 1 of 3 checks in a row failed/);

    const status = await cluster.runPass('linux', { args: ['status'] });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`NFS check: +via ${remoteIp.replace(/\./g, '\\.')}: answered`));
  });

  it('with the check off, the nfs-down fault moves nothing', async () => {
    const cluster = await e2e.up({ config: { nfsCheck: { enabled: false } } });
    const runs = e2e.startCron(1000);
    await waitFor('a pass', () => runs.passes.filter((p) => p.code === 0).length >= 1, 15_000);
    await cluster.fault('scvm-1', 'nfs-down');
    const tFault = Date.now();
    await waitFor('6 passes with the local NFS dead', () => runs.passes.filter((p) => p.startedAt > tFault && p.code === 0).length >= 6, 30_000);
    await runs.stop();
    expect(cluster.hostRoute()).toEqual([LOCAL]);
    expect(switchesOf(cluster)).toEqual([]);
    expect(await cluster.whoServesNfs(1000)).toBeNull();
  });
});
