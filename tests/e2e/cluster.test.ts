// The simulated cluster itself: address plan, the NFS stand-in, every fault switch and its heal, and a teardown that
// removes only what the cluster made. The agent is not involved here; the scenarios build on these guarantees.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Cluster, PLAN, SCVM_NAMES } from '../support/cluster';
import { describeNetns } from '../support/netns';
import { PrefixedNetns, checkPrefix } from '../support/netns-prefix';
import { sleep } from '../support/cluster-e2e';

jest.setTimeout(60_000);

describeNetns('simulated cluster', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.up();
  });
  afterAll(() => c?.down());

  const inHost = (argv: string[], timeout = 5000) =>
    spawnSync('ip', ['netns', 'exec', c.ns('host'), ...argv], { encoding: 'utf8', timeout });
  const ping = (ip: string) => inHost(['busybox', 'ping', '-c', '1', '-W', '1', ip]).status === 0;
  const curl = (url: string, extra: string[] = []) =>
    inHost(['curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', ...extra, url]);
  const login = (ip: string) =>
    curl(`http://${ip}/api/v3/sessions`, ['-X', 'POST', '-d', JSON.stringify({ username: PLAN.username, password: PLAN.password })]);
  const sessions = async () => {
    const body = (await c.emulatorOk('scvm-2', 'GET', '/_emu/state')) as { sessions: { uuid: string }[] };
    return body.sessions;
  };
  const listed = (ip: string): { ip: string; alive: boolean }[] => {
    const tok = JSON.parse(
      inHost(['curl', '-s', '-m', '3', '-X', 'POST', '-d', JSON.stringify({ username: PLAN.username, password: PLAN.password }), `http://${ip}/api/v3/sessions`]).stdout,
    ) as { data: { token: string } };
    const r = inHost(['curl', '-s', '-m', '3', '-H', `X-SmartX-Token: ${tok.data.token}`, `http://${ip}/api/v2/zbs_session/sessions`]);
    return (JSON.parse(r.stdout) as { data: { ip: string; alive: boolean }[] }).data;
  };

  it('has the address plan: host route via SCVM-1, every SCVM reachable on data and management', () => {
    expect(c.hostRoute()).toEqual([PLAN.scvms[0].dataIp]);
    for (const s of PLAN.scvms) {
      expect(ping(s.dataIp)).toBe(true);
      expect(ping(s.manageIp)).toBe(true);
    }
    const addrs = inHost(['ip', '-j', 'addr']).stdout;
    for (const a of ['10.10.85.11', '192.168.85.11', '192.168.33.1']) expect(addrs).toContain(`"local":"${a}"`);
    // the bridges live in the cluster's switch namespace, not in the root namespace
    expect(spawnSync('ip', ['link', 'show', 'brdata']).status).not.toBe(0);
    expect(
      spawnSync('ip', ['netns', 'exec', c.ns('switch'), 'ip', 'link', 'show', 'brdata'], { encoding: 'utf8' }).status,
    ).toBe(0);
  });

  it('the NFS stand-in tells which SCVM the host route reaches', async () => {
    expect(await c.whoServesNfs()).toBe('scvm-1');
    inHost(['ip', 'route', 'replace', `${PLAN.vip}/32`, 'via', PLAN.scvms[2].dataIp]);
    expect(await c.whoServesNfs()).toBe('scvm-3');
    inHost(['ip', 'route', 'replace', `${PLAN.vip}/32`, 'via', PLAN.scvms[0].dataIp]);
    expect(await c.whoServesNfs()).toBe('scvm-1');
  });

  it('drop-icmp silences echo but not TCP; heal restores it', async () => {
    await c.fault('scvm-1', 'drop-icmp');
    expect(ping(PLAN.scvms[0].dataIp)).toBe(false);
    expect(await c.whoServesNfs()).toBe('scvm-1');
    await c.heal('scvm-1', 'drop-icmp');
    expect(ping(PLAN.scvms[0].dataIp)).toBe(true);
  });

  it('link-down cuts the storage link; heal restores it', async () => {
    await c.fault('scvm-1', 'link-down');
    expect(ping(PLAN.scvms[0].dataIp)).toBe(false);
    expect(await c.whoServesNfs(1000)).toBeNull();
    await c.heal('scvm-1', 'link-down');
    expect(ping(PLAN.scvms[0].dataIp)).toBe(true);
    expect(await c.whoServesNfs()).toBe('scvm-1');
  });

  it('api-down refuses API connections while the control socket still works; heal restores it', async () => {
    expect(login(PLAN.scvms[1].manageIp).stdout).toMatch(/^200 /);
    await c.fault('scvm-2', 'api-down');
    expect(login(PLAN.scvms[1].manageIp).stdout).toMatch(/^000 /);
    expect((await c.emulator('scvm-2', 'GET', '/_emu/state')).status).toBe(200);
    await c.heal('scvm-2', 'api-down');
    expect(login(PLAN.scvms[1].manageIp).stdout).toMatch(/^200 /);
  });

  it('nfs-down drops NFS connections without a word; heal restores them', async () => {
    await c.fault('scvm-1', 'nfs-down');
    const t = Date.now();
    expect(await c.whoServesNfs(1000)).toBeNull();
    expect(Date.now() - t).toBeGreaterThanOrEqual(900);
    expect(ping(PLAN.scvms[0].dataIp)).toBe(true);
    await c.heal('scvm-1', 'nfs-down');
    expect(await c.whoServesNfs()).toBe('scvm-1');
  });

  it('session faults change the list every emulator serves; heal restores it', async () => {
    expect((await sessions()).length).toBe(3);
    await c.fault('scvm-1', 'session-dead');
    for (const s of PLAN.scvms) {
      expect(listed(s.manageIp).find((x) => x.ip === PLAN.scvms[0].dataIp)?.alive).toBe(false);
    }
    await c.heal('scvm-1', 'session-dead');
    expect(listed(PLAN.scvms[2].manageIp).find((x) => x.ip === PLAN.scvms[0].dataIp)?.alive).toBe(true);
    await c.fault('scvm-3', 'session-missing');
    for (const s of PLAN.scvms) expect(listed(s.manageIp).map((x) => x.ip)).not.toContain(PLAN.scvms[2].dataIp);
    await c.heal('scvm-3', 'session-missing');
    expect(listed(PLAN.scvms[0].manageIp).map((x) => x.ip)).toContain(PLAN.scvms[2].dataIp);
  });

  it('session-flapping toggles liveness on a schedule, the same on every emulator', async () => {
    await c.fault('scvm-1', 'session-flapping', { periodSec: 1 });
    // every emulator got the same schedule (period and start), so their lists agree at any moment
    const schedules = await Promise.all(
      SCVM_NAMES.map(async (s) => {
        const st = (await c.emulatorOk(s, 'GET', '/_emu/state')) as { sessions: { ip: string; flapPeriodSec?: number; flapStart?: number }[] };
        const x = st.sessions.find((y) => y.ip === PLAN.scvms[0].dataIp)!;
        return `${x.flapPeriodSec}@${x.flapStart}`;
      }),
    );
    expect(new Set(schedules).size).toBe(1);
    expect(schedules[0]).toMatch(/^1@\d+$/);
    const seen: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      seen.push(listed(PLAN.scvms[1].manageIp).find((x) => x.ip === PLAN.scvms[0].dataIp)!.alive);
      await sleep(500);
    }
    expect(seen).toContain(true);
    expect(seen).toContain(false);
    await c.heal('scvm-1', 'session-flapping');
    expect(listed(PLAN.scvms[0].manageIp).find((x) => x.ip === PLAN.scvms[0].dataIp)?.alive).toBe(true);
  });

  it('slow-api delays answers of one SCVM only', async () => {
    await c.fault('scvm-3', 'slow-api', { delayMs: 3000 });
    const slow = Number(login(PLAN.scvms[2].manageIp).stdout.split(' ')[1]);
    const fast = Number(login(PLAN.scvms[1].manageIp).stdout.split(' ')[1]);
    expect(slow).toBeGreaterThanOrEqual(2.95);
    expect(fast).toBeLessThan(2);
    await c.heal('scvm-3', 'slow-api');
    expect(Number(login(PLAN.scvms[2].manageIp).stdout.split(' ')[1])).toBeLessThan(2);
  });

  it('rejects unknown SCVMs and fault kinds with the list of valid ones', async () => {
    await expect(c.fault('scvm-9' as never, 'drop-icmp')).rejects.toThrow(/scvm-1, scvm-2, scvm-3/);
    await expect(c.fault('scvm-1', 'meteor' as never)).rejects.toThrow(/drop-icmp/);
  });
});

describeNetns('cluster teardown', () => {
  it('removes every namespace and file of its prefix and nothing else', async () => {
    const c = await Cluster.up({ prefix: `rrtd${process.pid}` });
    // a neighbour whose name merely starts with the same characters must survive
    const decoy = new PrefixedNetns(`${c.prefix}x`);
    decoy.add('decoy');
    try {
      expect(() => new PrefixedNetns(c.prefix)).toThrow(/in use/);
      c.down();
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(left).not.toMatch(new RegExp(`^${c.prefix}-`, 'm'));
      expect(left).toContain(`${c.prefix}x-decoy`);
      expect(existsSync(c.dir)).toBe(false);
      c.down(); // twice is fine
    } finally {
      decoy.teardown();
    }
  });

  it('refuses prefixes that could match namespaces it did not make', () => {
    for (const bad of ['', 'rr', 'host', 'rr-x', 'RRabc', 'rr../x', 'rrabc def']) expect(() => checkPrefix(bad)).toThrow(/bad cluster prefix/);
  });
});
