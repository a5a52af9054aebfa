// Crash safety in the simulated cluster. A pass killed with -9 at any point, a lock left behind by it, a lock file
// that is no owner record, a corrupt state file: the next pass recovers at once, and nothing that must not be lost is
// lost (the operator's pin, a session refresh owed). Field incident (DESIGN.md §5): a stuck agent held its lock and
// the host had no reroute.
import { lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bootId, monotonicMs, processStartTime } from '../../lib/runtime/host';
import { formatOwner } from '../../lib/runtime/lock';
import { PLAN, sessionId, type Cluster } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { recordsOf, useClusterHarness } from '../support/cluster-e2e';

/** A lock is a symlink to its owner record, which names no file: existsSync would say no. */
const lockExists = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

jest.setTimeout(120_000);

const PINNED = PLAN.scvms[2].dataIp;

interface StateView {
  pin: { target: string } | null;
  engine: { target: string | null; refreshed: { target: string } | null };
}

describeNetns('e2e: crash safety', () => {
  const e2e = useClusterHarness();
  const state = (cluster: Cluster) => cluster.readState() as unknown as StateView;

  it('kill -9 at any point of a pass: the next pass runs at once; the pin and the refresh owed survive', async () => {
    const cluster = await e2e.up();
    // Every refresh fails for now, so the pin's route add leaves a refresh owed.
    await cluster.emulatorsAll('POST', '/_emu/state', { faults: { refresh: { status: 500 } } });
    const pin = await cluster.runPass('linux', { args: ['route', '--target', PINNED] });
    expect(pin.code).toBe(0);
    expect(cluster.hostRoute()).toEqual([PINNED]);
    expect(state(cluster)).toMatchObject({ pin: { target: PINNED }, engine: { target: PINNED, refreshed: null } });

    // Kill passes at several points of their run (start-up, probing, API, saving), and once the moment it holds its
    // lock; each time the very next pass runs (the dead pass's lock is taken over at once).
    const lock = cluster.agentPath('lock');
    for (const kill of [{ killAfterMs: 20 }, { killAfterMs: 70 }, { killAfterMs: 150 }, { killAfterMs: 300 }, { killWhen: () => lockExists(lock) }]) {
      await cluster.runPass('linux', kill);
      expect(state(cluster)).toMatchObject({ pin: { target: PINNED }, engine: { target: PINNED, refreshed: null } });
      const next = await cluster.runPass();
      expect(next.code).toBe(0);
    }

    // The refresh works again: the next pass does the owed refresh, for the pinned target's session.
    await cluster.emulatorsAll('POST', '/_emu/state', { faults: { refresh: null } });
    expect((await cluster.runPass()).code).toBe(0);
    expect(state(cluster).engine.refreshed).toMatchObject({ target: PINNED });
    expect(state(cluster).pin?.target).toBe(PINNED);
    const ok = (await recordsOf(cluster, 'refreshes')).filter((x) => x.status === 200);
    expect(ok.map((x) => x.sessionId)).toEqual([sessionId('scvm-3')]);
    expect(cluster.hostRoute()).toEqual([PINNED]);
  });

  it('a lock file that is no owner record (left by an older agent, or damaged) is taken over by the next pass', async () => {
    const cluster = await e2e.up();
    const lock = cluster.agentPath('lock');
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, 'garbage');
    const r = await cluster.runPass();
    expect(r.code).toBe(0);
    expect(lockExists(lock)).toBe(false);
  });

  it('a lock held by a live pass makes the next run exit 3 at once, touching nothing', async () => {
    const cluster = await e2e.up();
    const lock = cluster.agentPath('lock');
    mkdirSync(dirname(lock), { recursive: true });
    // a live holder: this test process, within its deadline (and within the lock's bound: a deadline further off is
    // no deadline of a pass)
    symlinkSync(formatOwner({ pid: process.pid, start: processStartTime(process.pid), boot: bootId(), nonce: 'x', deadline: monotonicMs() + 8_000 }), lock);
    const r = await cluster.runPass();
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`another reroute pass holds the lock .*\\(pid ${process.pid}\\)`));
    expect(cluster.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
  });

  it('a corrupt state file is kept aside and rebuilt; the pass goes on and the route stays right', async () => {
    const cluster = await e2e.up();
    expect((await cluster.runPass()).code).toBe(0);
    writeFileSync(cluster.agentPath('state'), '{"version": 2, "pin": {"tar');
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
