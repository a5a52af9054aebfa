// Issue 26, "Failover depends on nothing but the network (1)": the host's own files, locks and disks, tried on the
// agent exactly as installed (busybox crond, cron's bare environment, production defaults, the cron lines `reroute
// install` writes; tests/support/installed.ts). Each case breaks a file the way the issue's reproductions did and
// then crashes SCVM-1: the route must follow the network. Each failed on the code before the fix (see the commit).
// The first runner is started as the minute's cron line would start it (startRunnerNow), not at cron's next minute.
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PLAN, type Cluster } from '../support/cluster';
import { killScvm, recordsOf, reviveScvm, sleep, useClusterHarness, waitFor, type NfsWatch } from '../support/cluster-e2e';
import { cliInHost, install, runGuardNow, runnerPids, startRunnerNow, type Installed, type InstalledOptions } from '../support/installed';
import { describeNetns } from '../support/netns';
import { fill, mountReadOnly, mountStallfs, mountTmpfs, mountsUnavailableReason, type Stallfs } from '../support/stallfs';

jest.setTimeout(150_000);

const remote = (who: string | null) => who === 'scvm-2' || who === 'scvm-3';
const exists = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

describeNetns('issue 26: failover as installed, whatever the host files do', () => {
  const e2e = useClusterHarness();
  let agent: Installed | undefined;
  const undo: (() => void)[] = [];
  let mounts = '';
  beforeAll(() => {
    const why = mountsUnavailableReason();
    if (why) throw new Error(`these tests mount tmpfs, bind and FUSE file systems: ${why}`);
  });
  beforeEach(() => {
    mounts = mkdtempSync(join(tmpdir(), 'reroute-i26-'));
  });
  /** Undo this test's mounts (a file system that hangs answers again first), then stop the agent. */
  const cleanUp = () => {
    for (const u of undo.splice(0).reverse()) u();
    agent?.stop();
    agent = undefined;
  };
  afterEach(() => {
    cleanUp();
    rmSync(mounts, { recursive: true, force: true });
  });

  /** Install the agent on `cluster`, start its first runner now, and wait until it passes on the healthy local SCVM. */
  async function installed(cluster: Cluster, opts: Partial<InstalledOptions> = {}): Promise<{ agent: Installed; watch: NfsWatch }> {
    agent = install(cluster, { persistent: join(cluster.dir, 'persistent'), ...opts });
    startRunnerNow(cluster, agent);
    const watch = e2e.watchNfs(50);
    const lock = join(agent.run, 'runner.lock');
    await waitFor('the first runner', () => exists(lock), 30_000);
    await sleep(3000); // a few passes: its monitor has heard every SCVM
    expect(watch.samples.at(-1)?.who).toBe('scvm-1');
    return { agent, watch };
  }

  /** Crash SCVM-1; seconds until a new NFS connection is answered by a remote SCVM (throws past `withinSec`). */
  async function failover(cluster: Cluster, watch: NfsWatch, withinSec: number, opts = { diskHangs: false }): Promise<number> {
    const t = Date.now();
    await killScvm(cluster, 'scvm-1');
    try {
      const out = await watch.waitFirst(t, remote, withinSec * 1000);
      return (out.at - t) / 1000;
    } catch (e) {
      // what the agent said, for the failure's report
      const dir = join(cluster.dir, 'installed');
      const crond = (() => {
        try {
          return readFileSync(join(dir, 'crond.log'), 'utf8').slice(-2000);
        } catch {
          return '';
        }
      })();
      // (not the log while its disk hangs: reading it would hang this test too)
      const log = agent && !opts.diskHangs ? logOf(agent).slice(-4000) : '';
      throw new Error(`${(e as Error).message}\n--- log ---\n${log}\n--- crond ---\n${crond}`, { cause: e });
    }
  }

  const logOf = (a: Installed) => {
    try {
      return readFileSync(a.log, 'utf8');
    } catch {
      return '';
    }
  };

  it('case 1: a full RAM disk (locks, record, watchdog): failover as usual, and the log says what it could not write', async () => {
    const cluster = await e2e.up();
    const run = join(mounts, 'ram');
    undo.push(mountTmpfs(run, '1m'));
    const { agent: a, watch } = await installed(cluster, { run });
    fill(run);
    await sleep(2500); // passes on the full disk: the record cannot be written any more
    expect(await failover(cluster, watch, 5)).toBeLessThan(5);
    await waitFor('the log line naming the full RAM disk', () => /ERROR cannot write record file .*ENOSPC.*going on from memory/.test(logOf(a)), 10_000);
    // a runner started by a guard line on the full disk runs too: the lock needs no data block
    for (const pid of runnerPids(a)) process.kill(pid, 'SIGKILL');
    await reviveScvm(cluster, 'scvm-1');
    startRunnerNow(cluster, a);
    await sleep(1500);
    const lock = readdirSync(run).filter((f) => f === 'runner.lock');
    expect(lock).toEqual(['runner.lock']);
  });

  it('case 2: a read-only state directory keeps the stable period and the API pace', async () => {
    const cluster = await e2e.up();
    const stateDir = join(mounts, 'state-ro');
    mkdirSync(join(mounts, 'state-src'), { recursive: true });
    undo.push(mountReadOnly(join(mounts, 'state-src'), stateDir));
    const { agent: a, watch } = await installed(cluster, { stateDir, extra: { decide: { backToNormalSec: 10 } } });
    expect(await failover(cluster, watch, 5)).toBeLessThan(5);
    await sleep(9000); // meta notices the lost session
    const heartbeatsBefore = (await recordsOf(cluster, 'heartbeats')).length;
    const t = Date.now();
    await reviveScvm(cluster, 'scvm-1');
    // back only after the 10 s stable period (the code before the fix went back 0.2 s after the revival)
    const back = await watch.waitFirst(t, (w) => w === 'scvm-1', 30_000);
    expect((back.at - t) / 1000).toBeGreaterThan(9);
    // the heartbeat's pace held (one every 10 s, and one at each change of target), not one a pass
    const heartbeats = (await recordsOf(cluster, 'heartbeats')).filter((r) => r.at >= t && r.at <= back.at);
    expect(heartbeats.length).toBeLessThanOrEqual(4);
    expect(heartbeatsBefore).toBeGreaterThan(0);
    expect(logOf(a)).toMatch(/ERROR cannot write state file .*EROFS.*going on from memory/);
  });

  it('case 3: a newer agent\'s state file and the NFS path down: failover after nfsCheck.failures checks', async () => {
    const cluster = await e2e.up();
    const persistent = join(cluster.dir, 'persistent');
    mkdirSync(join(persistent, 'reroute'), { recursive: true });
    writeFileSync(join(persistent, 'reroute', 'state.json'), JSON.stringify({ version: 99, pin: null, futureKey: {} }));
    const { agent: a, watch } = await installed(cluster, { persistent });
    const t = Date.now();
    await cluster.fault('scvm-1', 'nfs-down');
    const out = await watch.waitFirst(t, remote, 25_000); // the code before the fix: none in 40 s
    expect((out.at - t) / 1000).toBeLessThan(25);
    expect(JSON.parse(readFileSync(a.state, 'utf8')).version).toBe(99); // never written
  });

  it('case 5: a FIFO in place of the record, the state file and the monitor\'s hand-over file blocks nothing', async () => {
    const cluster = await e2e.up();
    const { agent: a, watch } = await installed(cluster);
    for (const f of [a.record, a.state, join(a.run, 'monitor.json')]) {
      const fifo = `${f}.fifo`;
      mkfifo(fifo);
      renameSync(fifo, f);
    }
    expect(await failover(cluster, watch, 5)).toBeLessThan(5);
    expect(logOf(a)).not.toMatch(/watchdog/);
  });

  // A descriptor of the log held open on the hung disk made every command's exec wait for that file system (a close
  // there is a flush, and libuv waits for the exec on the main thread): no pass after the first given-up read, until
  // the disk answered (docs/state.md). The hang here spans the minute's hand-over, so the route must still follow the
  // network once the next minute's process is due (and hangs reading its config from that disk).
  it('case 5 and a hanging /scratch: the state file, the config and the log on a file system that stops answering, across the minute', async () => {
    const cluster = await e2e.up();
    const persistent = join(mounts, 'scratch');
    const fs: Stallfs = await mountStallfs(join(mounts, 'scratch-backing'), persistent);
    undo.push(() => fs.unmount());
    const { agent: a, watch } = await installed(cluster, { persistent });
    let failed: Error | null = null;
    try {
      const sec = () => (Date.now() % 60_000) / 1000;
      await sleep(((110 - sec()) % 60) * 1000); // :50
      fs.stall();
      await sleep(3000); // passes meet the hung disk: each operation is given up, then none is started there
      // the code before the fix: none (its runner hangs in a read of the state file, unkillable, and so does every
      // runner cron starts). Measured here: 4-5 s at bd79dbc, 10-12 s since issues 25 and 26 were merged (ed593df
      // and later), against 0.7 s on a disk that answers; why the merge added the seconds is not found yet
      // (docs/state.md). The bound is the case's: a failover, not the time it takes on a hung disk.
      expect(await failover(cluster, watch, 20, { diskHangs: true })).toBeLessThan(20);
      // past the minute's hand-over, the disk still hung: the remote SCVM the route went to dies, and it moves on
      await sleep(((65 - sec()) % 60) * 1000);
      const now = watch.samples.at(-1)!.who!;
      const t = Date.now();
      await killScvm(cluster, now as 'scvm-2' | 'scvm-3');
      const next = await watch.waitFirst(t, (who) => remote(who) && who !== now, 20_000);
      expect((next.at - t) / 1000).toBeLessThan(20);
    } catch (e) {
      failed = e as Error;
    } finally {
      fs.resume(); // before anything reads the agent's files
    }
    if (failed) {
      await sleep(3000); // the lines the agent queued meanwhile reach the log
      throw new Error(`${failed.message}\n--- log after the disk answered ---\n${logOf(a).slice(-5000)}`);
    }
    await waitFor('the queued log lines once the disk answers', () => /state file .* cannot be read \(EHANG\)/.test(logOf(a)), 15_000);
  });

  it('case 6: a forged runner lock naming pid 1 is not trusted: a guard line starts a runner, which takes it over', async () => {
    const cluster = await e2e.up();
    const { agent: a, watch } = await installed(cluster);
    for (const pid of runnerPids(a)) process.kill(pid, 'SIGKILL');
    const lock = join(a.run, 'runner.lock');
    rmSync(lock, { force: true });
    writeFileSync(lock, JSON.stringify({ pid: 1, start: null, boot: null, nonce: 'x', deadline: 1e15, since: 'x' }));
    // the next guard line (one every 10 s) must start a runner; the code before the fix started none until the next
    // minute's line, and that one waited on the forged lock's deadline
    const crash = failover(cluster, watch, 10);
    await sleep(1000);
    runGuardNow(cluster);
    expect(await crash).toBeLessThan(10);
    await waitFor('the take-over logged at warn', () => /WARN lock .*runner\.lock: taken over from what was no lock of this agent/.test(logOf(a)), 10_000);
  });

  it('case 10: a nearly full disk cuts the state file\'s write short: the old file stays whole, nothing is lost', async () => {
    const cluster = await e2e.up();
    const stateDir = join(mounts, 'state-fuse');
    const fs = await mountStallfs(join(mounts, 'state-backing'), stateDir);
    undo.push(() => fs.unmount());
    const { agent: a, watch } = await installed(cluster, { stateDir });
    await waitFor('the state file', () => {
      try {
        return JSON.parse(readFileSync(a.state, 'utf8'));
      } catch {
        return null;
      }
    }, 10_000);
    const before = readFileSync(a.state, 'utf8');
    fs.setFree(200); // the switch's durable save gets 200 bytes, then ENOSPC
    expect(await failover(cluster, watch, 5)).toBeLessThan(5);
    await sleep(2500);
    expect(readFileSync(a.state, 'utf8')).toBe(before); // never a truncated file in its place
    expect(readdirSync(stateDir).filter((f) => f.includes('corrupt') || f.endsWith('.tmp'))).toEqual([]);
    expect(logOf(a)).toMatch(/cannot write state file .*ENOSPC/);
    // the route was kept where the pass put it: a remote SCVM, with its reason
    const status = cliInHost(cluster, a, ['status', '--json']);
    expect(status.status).toBe(0);
    expect(PLAN.scvms.slice(1).map((s) => s.dataIp)).toEqual(expect.arrayContaining(cluster.hostRoute()));
  });
});
