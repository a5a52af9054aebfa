// Scenario 5 of issue 7: the API is down on every SCVM while ICMP is fine. Field rule (DESIGN.md §5): "if HTTP
// fails, do not switch" - an unreachable API is not evidence that the local SCVM is down.
import { PLAN, SCVM_NAMES } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { journalOf, lastAt, passCount, switchesOf, useClusterHarness, waitFor } from '../support/cluster-e2e';

jest.setTimeout(60_000);

describeNetns('e2e: API down everywhere', () => {
  const e2e = useClusterHarness();

  it('keeps the local route through passes without any API answer', async () => {
    const cluster = await e2e.up();
    const mon = await e2e.monitor();
    const runs = e2e.startCron(1000);
    await waitFor('a first pass', () => runs.passes.length >= 1, 15_000);
    for (const s of SCVM_NAMES) await cluster.fault(s, 'api-down');
    const tDown = Date.now();
    await waitFor('10 passes with the API down', () => runs.passes.filter((p) => p.startedAt > tDown).length >= 10, 30_000);
    await runs.stop();

    const during = journalOf(cluster).filter((j) => lastAt(j) > tDown);
    expect(during.every((j) => j.change === false)).toBe(true);
    // the last list stands for api.sessionsEverySec (3 s, docs/api.md); after that every pass asks, and fails
    const failed = during.filter((j) => j.at > tDown && j.api === false);
    expect(passCount(failed)).toBeGreaterThanOrEqual(4);
    expect(during.filter((j) => lastAt(j) > tDown + 3500).every((j) => j.api === false)).toBe(true);
    expect(switchesOf(cluster)).toEqual([]);
    expect(mon.events).toEqual([]);
    expect(cluster.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
    expect(await cluster.whoServesNfs()).toBe('scvm-1');
    // an unreachable API is not a failed pass either
    expect(runs.passes.filter((p) => p.startedAt > tDown).every((p) => p.code === 0)).toBe(true);
  });
});
