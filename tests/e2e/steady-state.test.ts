// Scenario 1 of issue 7: a healthy cluster, the real bin/reroute run by a 1 s cron in the host namespace.
// Nothing may move: no route command, one login for the whole run (the token is reused), and the API asked at its
// pace (issue 18): a heartbeat every api.heartbeatEverySec (10 s), a session list every api.sessionsEverySec (3 s),
// however many passes run in between.
import { PLAN } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { recordsOf, switchesOf, useClusterHarness, waitFor, journalOf } from '../support/cluster-e2e';

const PASSES = 60;
jest.setTimeout((PASSES + 60) * 1000);

describeNetns('e2e: steady state', () => {
  const e2e = useClusterHarness();

  it(`${PASSES} passes: no route command, one login, a heartbeat to the local SCVM every 10 s, a list every 3 s`, async () => {
    const cluster = await e2e.up();
    const mon = await e2e.monitor();
    const runs = e2e.startCron(1000);
    await waitFor(`${PASSES} passes`, () => runs.passes.length >= PASSES, (PASSES + 30) * 1000, 200);
    const passes = await runs.stop();

    // cron does not wait for a pass: a pass still running at the next tick (a loaded machine) makes that run exit 3
    // (locked) at once, touching nothing. Every run either does its pass or finds the lock held; nothing else.
    const done = passes.filter((p) => p.code === 0);
    expect(passes.filter((p) => p.code !== 0 && p.code !== 3)).toEqual([]);
    expect(done.length).toBeGreaterThanOrEqual(PASSES / 2);
    expect(done.every((p) => p.stderr === '')).toBe(true);
    expect(cluster.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
    expect(mon.events).toEqual([]);
    expect(switchesOf(cluster)).toEqual([]);
    expect(journalOf(cluster).every((j) => !j.change && j.reason === 'local-ok')).toBe(true);

    const logins = await recordsOf(cluster, 'logins');
    expect(logins.length).toBe(1);
    const heartbeats = await recordsOf(cluster, 'heartbeats');
    // cron's ticks fall on whole seconds: a gap is the pace, or the pace plus a tick when a pass came late
    const gaps = (recs: { at: number }[]) => recs.slice(1).map((r, i) => (r.at - recs[i]!.at) / 1000);
    expect(heartbeats.length).toBeGreaterThanOrEqual(Math.floor(PASSES / 12));
    expect(gaps(heartbeats).every((g) => g >= 9.5 && g < 13)).toBe(true);
    const lists = await recordsOf(cluster, 'sessionLists');
    expect(lists.length).toBeGreaterThanOrEqual(Math.floor(PASSES / 5));
    expect(gaps(lists).every((g) => g >= 2.5 && g < 6)).toBe(true);
    expect(heartbeats.every((h) => h.scvm === 'scvm-1' && h.status === 200)).toBe(true);
    expect(heartbeats[0]!.body).toEqual({
      hypervisor_ip: PLAN.host.manageIp,
      local_scvm_data_ip: PLAN.scvms[0].dataIp,
      local_scvm_manage_ip: PLAN.scvms[0].manageIp,
      nfs_target_ip: PLAN.scvms[0].dataIp,
      ttl: 9,
    });
    expect(await recordsOf(cluster, 'refreshes')).toEqual([]);
  });
});
