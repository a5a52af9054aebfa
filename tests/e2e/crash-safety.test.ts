// Scenario 8 of issue 7: crash safety. A pass killed with -9 at any point, a lock left behind by it, a stale lock,
// a corrupt state file: the next passes recover, and nothing that must not be lost is lost (the operator's pin, a
// pending session refresh). Field incident (DESIGN.md §5): a stuck agent held its lock and the host had no reroute.
import { existsSync, readdirSync, statSync, utimesSync, mkdirSync, writeFileSync } from 'node:fs';
import { PLAN, sessionId, type Cluster } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { recordsOf, sleep, useClusterHarness } from '../support/cluster-e2e';

jest.setTimeout(120_000);

// A short pass deadline makes the lock's stale period short (lib/runtime/lock.ts: max(5 s, deadline + 2 s)).
const PASS_DEADLINE_MS = 4000; // above the cluster config's api.budgetMs (3 s)
const STALE_MS = Math.max(5000, PASS_DEADLINE_MS + 2000);
const PINNED = PLAN.scvms[2].dataIp;

interface StateView {
  pin: { target: string } | null;
  engine: { refreshPending: { target: string } | null };
}

describeNetns('e2e: crash safety', () => {
  const e2e = useClusterHarness();

  const state = (cluster: Cluster) => cluster.readState() as unknown as StateView;

  /** Passes every second until one exits 0; returns how long that took. */
  async function recover(cluster: Cluster, withinMs: number): Promise<number> {
    const t = Date.now();
    for (;;) {
      const r = await cluster.runPass();
      if (r.code === 0) return Date.now() - t;
      expect(r.code).toBe(3); // locked out while the dead pass's lock is not stale yet; nothing else
      if (Date.now() - t > withinMs) throw new Error(`no pass succeeded within ${withinMs} ms: ${r.stderr}`);
      await sleep(1000);
    }
  }

  it('kill -9 mid-pass and the lock it leaves: pin and pending refresh survive, passes resume after the stale period', async () => {
    const cluster = await e2e.up({ config: { passDeadlineMs: PASS_DEADLINE_MS } });
    // Every refresh fails for now, so the pin's route add leaves a refresh pending.
    await cluster.emulatorsAll('POST', '/_emu/state', { faults: { refresh: { status: 500 } } });
    const pin = await cluster.runPass('linux', { args: ['route', '--target', PINNED] });
    expect(pin.code).toBe(0);
    expect(cluster.hostRoute()).toEqual([PINNED]);
    expect(state(cluster).pin?.target).toBe(PINNED);
    expect(state(cluster).engine.refreshPending?.target).toBe(PINNED);

    // Kill passes at several points of their run (start-up, probing, API, saving)...
    const lockDir = `${cluster.agentPath('lock')}.lock`;
    for (const at of [20, 40, 70, 120, 250]) {
      if (existsSync(lockDir)) await recover(cluster, STALE_MS + 5000);
      await cluster.runPass('linux', { killAfterMs: at });
      const s = state(cluster);
      expect(s.pin?.target).toBe(PINNED);
      expect(s.engine.refreshPending?.target).toBe(PINNED);
    }
    if (existsSync(lockDir)) await recover(cluster, STALE_MS + 5000);
    // ...and one the moment it holds its lock, so the takeover below is surely of a dead pass's lock.
    const killed = await cluster.runPass('linux', { killWhen: () => existsSync(lockDir) });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(lockDir)).toBe(true);
    expect(state(cluster).pin?.target).toBe(PINNED);
    const took = await recover(cluster, STALE_MS + 5000);
    expect(took).toBeLessThan(STALE_MS + 5000);
    expect(took).toBeGreaterThan(1000); // the dead pass's lock held the next runs off until it went stale

    // The refresh works again: the next pass does the pending refresh, for the pinned target's session.
    await cluster.emulatorsAll('POST', '/_emu/state', { faults: { refresh: null } });
    const r = await cluster.runPass();
    expect(r.code).toBe(0);
    expect(state(cluster).engine.refreshPending).toBeNull();
    expect(state(cluster).pin?.target).toBe(PINNED);
    const ok = (await recordsOf(cluster, 'refreshes')).filter((x) => x.status === 200);
    expect(ok.map((x) => x.sessionId)).toEqual([sessionId('scvm-3')]);
    expect(cluster.hostRoute()).toEqual([PINNED]);
  });

  it('a stale lock from long ago is taken over by the very next pass', async () => {
    const cluster = await e2e.up({ config: { passDeadlineMs: PASS_DEADLINE_MS } });
    const lockDir = `${cluster.agentPath('lock')}.lock`;
    mkdirSync(lockDir, { recursive: true });
    const old = (Date.now() - 10 * 60_000) / 1000;
    utimesSync(lockDir, old, old);
    const r = await cluster.runPass();
    expect(r.code).toBe(0);
    expect(statSync(lockDir, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('a fresh lock held by a live pass makes the next run exit 3 at once, touching nothing', async () => {
    const cluster = await e2e.up({ config: { passDeadlineMs: PASS_DEADLINE_MS } });
    const lockDir = `${cluster.agentPath('lock')}.lock`;
    mkdirSync(lockDir, { recursive: true });
    const r = await cluster.runPass();
    expect(r.code).toBe(3);
    expect(r.endedAt - r.startedAt).toBeLessThan(PASS_DEADLINE_MS); // at once, not after waiting for the lock
    expect(cluster.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
  });

  it('a corrupt state file is kept aside and rebuilt; the pass goes on and the route stays right', async () => {
    const cluster = await e2e.up();
    expect((await cluster.runPass()).code).toBe(0);
    writeFileSync(cluster.agentPath('state'), '{"version": 1, "pin": {"tar');
    const r = await cluster.runPass();
    expect(r.code).toBe(0);
    const aside = readdirSync(cluster.dir).filter((f) => f.startsWith('state.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(cluster.readState()).not.toBeNull();
    expect(cluster.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
    expect(cluster.readLog()).toMatch(/state file .* kept as .*corrupt-/);
    // and the agent still works from the rebuilt state: the local SCVM dies, the host fails over
    await cluster.fault('scvm-1', 'drop-icmp');
    expect((await cluster.runPass()).code).toBe(0);
    expect(cluster.hostRoute()).not.toEqual([PLAN.scvms[0].dataIp]);
  });
});
