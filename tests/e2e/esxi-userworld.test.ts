// Issue 25: the bundle as an ESXi host runs it, under the `strict` profile (every system call the bundle can do
// without fails ENOSYS, epoll_pwait and getrandom included: tests/support/esxi/userworld.ts), in a root that holds only
// the bundle, busybox, the fake ESXi commands (run there as ESXi's own are: on the bundle's loader and shim, under the
// same profile), /dev/null and /dev/urandom. One host for the whole file, as it would live: the commands by hand first,
// then `reroute install` (the crontab, busybox crond started in the root), the runner that cron starts, a failover and
// the route put back, `route --target`, `status`, `doctor`, a config change (the runner's successor starts through the
// launcher), then the same again with the launcher's jitless switch on. Production defaults: the runner's monitor, the
// 180 s back-to-normal, the real cron lines. It waits for cron's next minute once (about two minutes in all).
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOwner } from '../../lib/runtime/lock';
import { Cluster, PLAN, type ScvmName } from '../support/cluster';
import { NfsWatch, killScvm, reviveScvm, sleep, waitFor } from '../support/cluster-e2e';
import { ensureBundle } from '../support/bundle';
import { EsxiHost, HOST_CONFIG, HOST_RUN } from '../support/esxi/host';
import { bundleCalls } from '../support/esxi/strace';
import { profileCalls, readMatrix } from '../support/esxi/userworld';
import { esxiHostConfig } from '../support/installed';
import { describeNetns } from '../support/netns';

jest.setTimeout(150_000);

const LOCAL = PLAN.scvms[0].dataIp;
const remotes = PLAN.scvms.slice(1).map((s) => s.name as string);

describeNetns('e2e: the bundle on an ESXi userworld, strict profile', () => {
  let cluster: Cluster;
  let host: EsxiHost;
  let watch: NfsWatch | undefined;

  beforeAll(async () => {
    ensureBundle();
    cluster = await Cluster.up({ flavour: 'esxi' });
    // DEBUG: the runner's last line ("runner: done (changed)") and the successor's start are in the log
    host = new EsxiHost(cluster, { profile: 'strict', config: esxiHostConfig({ log: { level: 'debug' } }) });
  });
  afterAll(async () => {
    await watch?.stop();
    host?.cleanup();
    cluster?.down();
  });

  const runnerPid = (): number | null => {
    try {
      // a symlink whose target is the owner record (lib/runtime/lock.ts)
      return parseOwner(readlinkSync(host.at(join(HOST_RUN, 'runner.lock'))))?.pid ?? null;
    } catch {
      return null;
    }
  };

  /** Change the config as an operator would (a new value of a key the agent reads), at a moment no guard line runs. */
  const changeConfig = async (patch: Record<string, unknown>) => {
    // the guards start at seconds 10, 20, ... 50 of each minute: change it 1-2 s after a multiple of 10
    const msInTen = Date.now() % 10_000;
    await sleep(msInTen < 1000 ? 1000 - msInTen : msInTen < 2000 ? 0 : 11_000 - msInTen);
    const file = host.at(HOST_CONFIG);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...patch }, null, 2), { mode: 0o600 });
    return Date.now();
  };

  /** The route the host namespace's kernel has for the VIP, as the fakes mirrored it. */
  const kernelRoute = () => cluster.hostRoute();

  it('version, probe and doctor exit as without the profile (and with it, plain system calls fail)', async () => {
    expect(host.deny).toEqual(expect.arrayContaining(['epoll_pwait', 'getrandom']));
    for (const args of [['version'], ['version', '--json'], ['probe', '127.0.0.1', '--json'], ['probe', '--json'], ['doctor', '--json']]) {
      const strict = await host.run(args, { timeoutMs: 30_000 });
      const linux = await host.run(args, { timeoutMs: 30_000, deny: [] });
      expect({ args, stderr: strict.stderr, status: strict.status }).toEqual({ args, stderr: linux.stderr, status: linux.status });
      if (args[0] === 'doctor') {
        const statuses = (out: string) => (JSON.parse(out) as { checks: { id: string; status: string }[] }).checks.map((c) => `${c.id} ${c.status}`);
        expect(statuses(strict.stdout)).toEqual(statuses(linux.stdout));
        // not installed yet: cron and boot FAIL
        expect(statuses(strict.stdout).filter((c) => !c.endsWith(' ok'))).toEqual(['cron fail', 'boot fail']);
      } else if (args[0] === 'probe') {
        const verdicts = (out: string) => (JSON.parse(out) as { results: { ip: string; reachable: boolean }[] }).results.map((x) => [x.ip, x.reachable]);
        expect(verdicts(strict.stdout)).toEqual(verdicts(linux.stdout));
        expect(verdicts(strict.stdout).every(([, ok]) => ok)).toBe(true);
      } else if (args.includes('--json')) {
        expect(JSON.parse(strict.stdout)).toEqual(JSON.parse(linux.stdout));
      } else expect(strict.stdout).toBe(linux.stdout);
    }
  });

  it('makes no system call the matrix (docs/esxi.md) lacks, with the profile or without', async () => {
    const known = new Set(Object.keys(readMatrix().calls));
    const unknown = new Map<string, string[]>();
    for (const deny of [[], profileCalls('strict')]) {
      for (const args of [['version'], ['probe', '--json'], ['doctor'], ['loop']]) {
        const file = join(cluster.dir, 'trace');
        const r = await host.run(args, { deny, strace: file, timeoutMs: 60_000 });
        expect(r.timedOut).toBe(false);
        for (const call of bundleCalls(readFileSync(file, 'utf8')).keys()) {
          if (!known.has(call)) unknown.set(call, [...(unknown.get(call) ?? []), `${args[0]}${deny.length ? ' (strict)' : ''}`]);
        }
      }
    }
    // a call here is new: run scripts/syscall-matrix --docs and look at what it does when it fails
    expect(Object.fromEntries(unknown)).toEqual({});
  });

  it('reroute install: the crontab, busybox crond in the root, and cron starts the runner', async () => {
    const before = host.passes(); // the passes traced above
    await host.install();
    const tab = readFileSync(host.at('/var/spool/cron/crontabs/root'), 'utf8');
    expect(tab.split('\n').filter((l) => l.includes('# reroute-agent'))).toHaveLength(3);
    expect(tab).toContain(`/opt/reroute/bin/reroute loop --every 1 --config ${HOST_CONFIG}`);
    expect(host.crondPid()).not.toBeNull();
    // the first runner starts at the next minute
    await waitFor('the runner passing', () => host.passes() >= before + 3, 80_000, 200);
    expect(host.journal().at(-1)!.reason).toBe('local-ok');
    const pid = runnerPid();
    expect(pid).not.toBeNull();
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['/opt/reroute/bin/reroute.real', 'loop', '--every', '1']));
    watch = new NfsWatch(cluster, 50);
  });

  it('doctor and status after install, under the profile', async () => {
    const doctor = await host.run(['doctor', '--json']);
    expect(doctor.stderr).toBe('');
    const checks = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; detail: string }[] }).checks;
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(doctor.status).toBe(0);
    const status = await host.run(['status']);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`route: +192\\.168\\.33\\.2/32 via ${LOCAL.replace(/\./g, '\\.')}`));
  });

  /** Crash the local SCVM; NFS must be answered by a remote one within a few seconds (the runner's monitor). */
  const failover = async () => {
    const t0 = Date.now();
    await killScvm(cluster, 'scvm-1');
    const out = await watch!.waitFirst(t0, (w) => w !== null && remotes.includes(w), 10_000);
    const remoteIp = PLAN.scvms.find((s) => s.name === out.who)!.dataIp;
    expect(kernelRoute()).toEqual([remoteIp]);
    // the fake saves its table just after the kernel's change, and the pass its record at its end
    await waitFor('the fake ESXi table on the remote SCVM', () => host.readFakeRoute() === remoteIp, 5000, 50);
    const lastSwitch = () => host.journal().filter((j) => j.change && j.switched === 'ok').at(-1);
    await waitFor('the switch in the journal', () => lastSwitch()?.to === remoteIp, 5000, 50);
    expect(lastSwitch()).toMatchObject({ to: remoteIp, reason: 'local-icmp-down' });
    return (out.at - t0) / 1000;
  };

  const answers = async (ip: string) => {
    const r = await host.run(['probe', ip, '--json']);
    try {
      return (JSON.parse(r.stdout) as { results: { reachable: boolean }[] }).results[0]?.reachable === true;
    } catch {
      return false;
    }
  };

  /** Put the route back on the local SCVM by hand, as an operator does (the automatic way back waits 180 s). */
  const backToLocal = async () => {
    for (const args of [['route', '--target', LOCAL], ['route', '--auto']]) {
      const r = await host.run(args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: '' });
    }
    const since = Date.now();
    await waitFor('the NFS stand-in answered by the local SCVM', () => watch!.first(since, (w) => w === 'scvm-1'), 10_000);
    expect(kernelRoute()).toEqual([LOCAL]);
    await waitFor('the fake ESXi table on the local SCVM', () => host.readFakeRoute() === LOCAL, 5000, 50);
  };

  /** Revive it, and put the route back by hand. */
  const routeBack = async () => {
    await sleep(500);
    await reviveScvm(cluster, 'scvm-1');
    await waitFor('the local SCVM answering ICMP again', () => answers(LOCAL), 20_000, 500);
    await backToLocal();
  };

  it('failover and back: the local SCVM crashes, NFS is answered by a remote SCVM; the route goes back by hand', async () => {
    const took = await failover();
    expect(took).toBeLessThan(5);
    await routeBack();
  });

  it('route --target pins the route to another SCVM, status shows it, route --auto gives it back', async () => {
    const target = PLAN.scvms[2];
    const pin = await host.run(['route', '--target', target.dataIp]);
    expect({ status: pin.status, stderr: pin.stderr }).toEqual({ status: 0, stderr: '' });
    expect(kernelRoute()).toEqual([target.dataIp]);
    const since = Date.now();
    await waitFor('NFS via the pinned SCVM', () => watch!.first(since, (w) => w === (target.name as ScvmName)), 10_000);
    const status = await host.run(['status']);
    expect(status.stdout).toMatch(/mode: +ROUTE/);
    expect(status.stdout).toContain(`pinned to ${target.dataIp}`);
    await backToLocal();
    expect((await host.run(['status'])).stdout).toMatch(/mode: +LOOP/);
  });

  it('a config change ends the runner and its successor starts at once, through the launcher', async () => {
    const before = runnerPid();
    const at = await changeConfig({ heartbeatTtl: 8 });
    const next = await waitFor('a new runner', () => {
      const p = runnerPid();
      return p !== null && p !== before ? p : null;
    }, 6000, 50);
    // within 6 s of the change and not on a guard's second: the successor, not cron
    expect(Date.now() - at).toBeLessThan(6000);
    expect(readFileSync(`/proc/${next}/cmdline`, 'utf8').split('\0').slice(-6)).toEqual(['loop', '--every', '1', '--config', HOST_CONFIG, '']);
    expect(host.readLog()).not.toMatch(/could not start a successor/);
    await waitFor('the successor passing', () => host.journal().some((j) => (j.until ?? j.at) > at), 10_000, 100);
  });

  it('with the jitless switch (jitless=1 in install.conf): the successor runs --jitless; failover and back again', async () => {
    writeFileSync(host.at('/scratch/reroute/install.conf'), 'jitless=1\n');
    const before = runnerPid();
    const at = await changeConfig({ heartbeatTtl: 9 });
    const next = await waitFor('a new runner', () => {
      const p = runnerPid();
      return p !== null && p !== before ? p : null;
    }, 6000, 50);
    expect(readFileSync(`/proc/${next}/environ`, 'utf8').split('\0')).toContain('NODE_OPTIONS=--jitless --disable-warning=Warning');
    await waitFor('the jitless runner passing', () => host.journal().some((j) => (j.until ?? j.at) > at + 1000), 10_000, 100);
    // the commands by hand go through the same launcher: jitless too
    const version = await host.run(['version', '--json']);
    expect({ status: version.status, stderr: version.stderr }).toEqual({ status: 0, stderr: '' });
    const took = await failover();
    expect(took).toBeLessThan(5);
    await routeBack();
    expect(host.readLog()).not.toMatch(/\bERROR\b|WebAssembly/);
  });
});
