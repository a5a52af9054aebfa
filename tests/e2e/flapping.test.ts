// Scenario 4 of issue 7: the local chunk service restarts again and again (its session alive flag toggles every
// 2 s) while ICMP stays fine. Field incident (DESIGN.md §5): fast switch-out/switch-back stalled I/O for over a
// minute. Wanted: one switch out, no switch while it flaps, one switch back once it has been stable.
import { PLAN } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { journalOf, sleep, switchesOf, useClusterHarness, waitFor } from '../support/cluster-e2e';

jest.setTimeout(150_000);

const FLAP_PERIOD_SEC = 2;
const FLAP_FOR_MS = 14_000;
const BACK_TO_NORMAL_SEC = 4;
// Flap damping lengthens the stable period after relapses; capped here so the test ends in seconds.
const MAX_BACK_TO_NORMAL_SEC = 8;

describeNetns('e2e: chunk flapping', () => {
  const e2e = useClusterHarness();

  it('one switch out, none while flapping, one back after it is stable', async () => {
    const cluster = await e2e.up({
      config: { decide: { backToNormalSec: BACK_TO_NORMAL_SEC, maxBackToNormalSec: MAX_BACK_TO_NORMAL_SEC } },
    });
    const mon = await e2e.monitor();
    const watch = e2e.watchNfs(200);
    const runs = e2e.startCron(1000);
    await waitFor('two passes', () => runs.passes.length >= 2, 15_000);

    await cluster.fault('scvm-1', 'session-flapping', { periodSec: FLAP_PERIOD_SEC });
    const tFlap = Date.now();
    // two fresh lists showing it dead (issue 15 case 4): the first at the list's pace (api.sessionsEverySec, 3 s), the
    // second in a later dead phase (every 2 * FLAP_PERIOD_SEC): up to about 10 s here. Under stress-ng a cron pass can
    // take several seconds and most ticks find the lock held, so the margin is wide; the journal says why on a miss.
    await waitFor('the switch out', () => switchesOf(cluster).length >= 1, 45_000).catch((e: Error) => {
      const seen = journalOf(cluster).map((j) => `${j.reason}/${j.local}/${j.api}${j.repeats ? ` x${j.repeats}` : ''}`);
      throw new Error(`${e.message}; the journal: ${seen.join(', ')}`);
    });
    const out = switchesOf(cluster)[0]!;
    expect(out.reason).toBe('local-session-dead');
    expect(out.from).toBe(PLAN.scvms[0].dataIp);
    await sleep(Math.max(0, tFlap + FLAP_FOR_MS - Date.now()));
    // it flapped for FLAP_FOR_MS (several alive/dead cycles) and the route stayed out all along
    expect(switchesOf(cluster)).toHaveLength(1);
    expect(cluster.hostRoute()).toEqual([out.to]);

    const tHeal = Date.now();
    await cluster.heal('scvm-1', 'session-flapping');
    await waitFor('the switch back', () => switchesOf(cluster).length >= 2, (MAX_BACK_TO_NORMAL_SEC + 10) * 1000);
    const back = switchesOf(cluster)[1]!;
    expect(back.to).toBe(PLAN.scvms[0].dataIp);
    // the stable period may start in the last alive phase before the heal (up to FLAP_PERIOD_SEC earlier)
    expect(back.at - tHeal).toBeGreaterThanOrEqual((BACK_TO_NORMAL_SEC - FLAP_PERIOD_SEC) * 1000 - 500);
    await sleep(2000);
    await runs.stop();

    expect(switchesOf(cluster)).toHaveLength(2);
    // the kernel saw exactly two changes of the VIP route: out and back
    expect(mon.events).toHaveLength(2);
    expect(cluster.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
    const who = watch.samples.map((s) => s.who).filter((w, i, a) => i === 0 || w !== a[i - 1]);
    expect(who).toEqual(['scvm-1', expect.stringMatching(/^scvm-[23]$/), 'scvm-1']);
    console.log(`chunk flapping: switched out ${((out.at - tFlap) / 1000).toFixed(1)} s after flapping began, back ${((back.at - tHeal) / 1000).toFixed(1)} s after it stopped; 2 switches`);
  });
});
