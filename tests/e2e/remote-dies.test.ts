// Scenarios 6 and 7 of issue 7: the remote target dies while the host is rerouted (move to the other healthy SCVM),
// and every SCVM is dead (keep the route, never delete it; `reroute status` says why). DESIGN.md §5: never leave the
// host with no route to 192.168.33.2.
import { PLAN, type Cluster, type Cron, type ScvmName } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { journalOf, killScvm, lastAt, passCount, sleep, switchesOf, useClusterHarness, waitFor } from '../support/cluster-e2e';

jest.setTimeout(90_000);

const nameOf = (ip: string) => PLAN.scvms.find((s) => s.dataIp === ip)!.name as ScvmName;

describeNetns('e2e: remote targets die', () => {
  const e2e = useClusterHarness();

  /** Local dies; resolves with the remote the host moved to. */
  async function failOver(cluster: Cluster, runs: Cron): Promise<string> {
    await waitFor('a first pass', () => runs.passes.length >= 1, 15_000);
    await killScvm(cluster, 'scvm-1');
    await waitFor('the switch out', () => switchesOf(cluster).length >= 1, 15_000);
    return switchesOf(cluster)[0]!.to;
  }

  it('scenario 6: the remote target dies while rerouted -> move to the other healthy SCVM', async () => {
    const cluster = await e2e.up();
    const watch = e2e.watchNfs(100);
    const runs = e2e.startCron(1000);
    const first = await failOver(cluster, runs);
    const other = PLAN.scvms.find((s) => s.dataIp !== first && s.name !== 'scvm-1')!;
    const t = Date.now();
    await killScvm(cluster, nameOf(first));
    const moved = await watch.waitFirst(t, (w) => w === other.name, 15_000);
    await sleep(2000);
    await runs.stop();
    expect(cluster.hostRoute()).toEqual([other.dataIp]);
    const sw = switchesOf(cluster);
    expect(sw.map((j) => j.to)).toEqual([first, other.dataIp]);
    expect(sw[1]!.reason).toBe('remote-failed-move');
    console.log(`remote target died: traffic on ${other.name} after ${((moved.at - t) / 1000).toFixed(2)} s`);
  });

  it('scenario 7: every SCVM dead -> the route is kept, never deleted, and status says why', async () => {
    const cluster = await e2e.up();
    const mon = await e2e.monitor();
    const runs = e2e.startCron(1000);
    const first = await failOver(cluster, runs);
    const eventsBefore = mon.events.length;
    for (const s of PLAN.scvms) if (s.name !== 'scvm-1') await killScvm(cluster, s.name as ScvmName);
    const tAll = Date.now();
    await waitFor('6 passes with every SCVM dead', () => runs.passes.filter((p) => p.startedAt > tAll + 500).length >= 6, 30_000);
    await runs.stop();

    expect(cluster.hostRoute()).toEqual([first]);
    expect(mon.events.length).toBe(eventsBefore);
    expect(mon.deletions()).toEqual([]);
    expect(switchesOf(cluster)).toHaveLength(1);
    const last = journalOf(cluster).filter((j) => lastAt(j) > tAll + 3000);
    expect(passCount(last)).toBeGreaterThanOrEqual(3);
    expect(last.every((j) => j.reason === 'no-healthy-target' && !j.change)).toBe(true);

    const status = await cluster.runPass('linux', { args: ['status'] });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`via ${first}`);
    expect(status.stdout).toContain(`last reason: ${last.at(-1)!.because}`);
    expect(last.at(-1)!.because).toMatch(/no .*healthy|keep/i);
    const json = await cluster.runPass('linux', { args: ['status', '--json'] });
    expect((JSON.parse(json.stdout) as { lastReason: { reason: string } }).lastReason.reason).toBe('no-healthy-target');
  });
});
