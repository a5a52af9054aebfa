import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../lib/config/schema';
import { RouteError } from '../../lib/errors';
import { createRouteBackend, type RouteBackend, type SwitchResult } from '../../lib/routes';
import { describeNetns, NetnsLab } from '../support/netns';
import { recordingLog, type RecordingLog } from '../support/log';

const VIP = '192.168.33.2';
const WRAPPER = join(__dirname, 'ip-wrapper.js');

describeNetns('Linux backend against the kernel in a namespace', () => {
  let lab: NetnsLab;
  let ns: string;
  let dir: string;
  let log: RecordingLog;

  beforeAll(() => {
    lab = new NetnsLab('lrt');
    ns = lab.addNamespace('host');
    const peer = lab.addNamespace('peer');
    lab.link(ns, '10.10.85.11/24', peer, '10.10.85.15/24');
  });
  afterAll(() => lab.teardown());

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reroute-linux-'));
    log = recordingLog();
    lab.exec(ns, ['ip', 'route', 'flush', 'exact', `${VIP}/32`]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const callLog = () => join(dir, 'calls');
  const calls = (): string[][] =>
    existsSync(callLog())
      ? readFileSync(callLog(), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as string[])
      : [];

  async function backend(opts: { dryRun?: boolean; ignore?: string } = {}): Promise<RouteBackend> {
    const config = configSchema.parse({ platform: 'linux', local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' } });
    const env = { ...process.env, IP_WRAPPER_LOG: callLog(), ...(opts.ignore ? { IP_WRAPPER_IGNORE: opts.ignore } : {}) };
    return createRouteBackend(config, log, {
      dryRun: opts.dryRun ?? false,
      ipCommand: [process.execPath, WRAPPER, 'ip', '-n', ns],
      env,
    });
  }

  const kernel = () => JSON.parse(lab.exec(ns, ['ip', '-j', 'route', 'show', `${VIP}/32`]) || '[]') as Record<string, unknown>[];
  const ip = (...args: string[]) => lab.exec(ns, ['ip', ...args]);

  it('no route', async () => {
    const b = await backend();
    expect(b.platform).toBe('linux');
    expect(await b.readVip()).toEqual({ ok: true, nextHops: [] });
  });

  it('one route', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15');
    expect(await (await backend()).readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15'] });
  });

  it('several routes at other metrics: all are seen, a switch leaves exactly one', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15', 'metric', '10');
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.16', 'metric', '20');
    const b = await backend();
    const seen = await b.readVip();
    expect(seen).toEqual({ ok: true, nextHops: ['10.10.85.15', '10.10.85.16'] });
    const r = await b.switchTo('10.10.85.16', ['10.10.85.15', '10.10.85.16']);
    expect(r.after).toEqual(['10.10.85.16']);
    expect(kernel()).toEqual([{ dst: VIP, gateway: '10.10.85.16', dev: expect.any(String), flags: [] }]);
  });

  it('a multipath route: both next hops are seen and a switch replaces it', async () => {
    ip('route', 'add', `${VIP}/32`, 'nexthop', 'via', '10.10.85.15', 'nexthop', 'via', '10.10.85.16');
    const b = await backend();
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15', '10.10.85.16'] });
    await b.switchTo('10.10.85.17', ['10.10.85.15', '10.10.85.16']);
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.17'] });
  });

  it('a device-only route has no next hop (logged) and a switch replaces it', async () => {
    const dev = (JSON.parse(ip('-j', 'addr', 'show', 'to', '10.10.85.11')) as { ifname: string }[])[0]!.ifname;
    ip('route', 'add', `${VIP}/32`, 'dev', dev);
    const b = await backend();
    expect(await b.readVip()).toEqual({ ok: true, nextHops: [] });
    expect(log.messages('warn')).toEqual([`the route to ${VIP}/32 goes via a device only (${dev}), no next hop`]);
    const r = await b.switchTo('10.10.85.15', []);
    expect(r).toMatchObject({ changed: true, after: ['10.10.85.15'] });
    expect(kernel()).toHaveLength(1);
  });

  it('switches atomically with replace: the kernel never reports the VIP route deleted', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15');
    const b = await backend();
    const monitor = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let events = '';
    monitor.stdout.on('data', (d: Buffer) => (events += d.toString()));
    await new Promise((res) => setTimeout(res, 300));
    let r: SwitchResult;
    try {
      r = await b.switchTo('10.10.85.16', ['10.10.85.15']);
      await new Promise((res) => setTimeout(res, 300));
    } finally {
      monitor.kill('SIGKILL');
    }
    expect(r.commands).toEqual([[process.execPath, WRAPPER, 'ip', '-n', ns, 'route', 'replace', `${VIP}/32`, 'via', '10.10.85.16']]);
    expect(r.after).toEqual(['10.10.85.16']);
    expect(events).toContain(`${VIP} via 10.10.85.16`);
    expect(events).not.toMatch(/^Deleted 192\.168\.33\.2/m);
  });

  it('issues no command when the route is already right', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15');
    const b = await backend();
    const r = await b.switchTo('10.10.85.15', ['10.10.85.15']);
    expect(r).toMatchObject({ changed: false, commands: [] });
    expect(calls()).toEqual([]);
  });

  it('dry run runs nothing that changes the table', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15');
    const b = await backend({ dryRun: true });
    const r = await b.switchTo('10.10.85.16', ['10.10.85.15']);
    expect(r).toMatchObject({ changed: false, dryRun: true });
    expect(calls()).toEqual([]);
    expect(log.messages('info')).toEqual([expect.stringContaining(`would run "`)]);
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15'] });
  });

  it('reads back: a replace that did not take is a RouteError', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15');
    const b = await backend({ ignore: 'replace' });
    await expect(b.switchTo('10.10.85.16', ['10.10.85.15'])).rejects.toThrow(
      new RouteError(`the route from ${VIP} did not take: wanted via 10.10.85.16, read back [10.10.85.15]`),
    );
    expect(kernel()).toHaveLength(1);
  });

  it('a refused replace (unreachable gateway) is a RouteError and leaves the route alone', async () => {
    ip('route', 'add', `${VIP}/32`, 'via', '10.10.85.15');
    const b = await backend();
    const err = await b.switchTo('10.99.0.1', ['10.10.85.15']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouteError);
    expect((err as RouteError).message).toContain(`could not route ${VIP} via 10.99.0.1`);
    expect(log.entries.find((x) => x.level === 'error')?.context).toMatchObject({ status: 2, stderr: expect.stringContaining('gateway') });
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15'] });
  });

  it('host IPs from ip -j addr, without lo, link-local and the NFS address', async () => {
    const dev = (JSON.parse(ip('-j', 'addr', 'show', 'to', '10.10.85.11')) as { ifname: string }[])[0]!.ifname;
    ip('addr', 'add', '192.168.33.1/24', 'dev', dev);
    ip('addr', 'add', '169.254.7.7/16', 'dev', dev);
    try {
      expect(await (await backend()).hostIps()).toEqual(['10.10.85.11']);
    } finally {
      ip('addr', 'del', '192.168.33.1/24', 'dev', dev);
      ip('addr', 'del', '169.254.7.7/16', 'dev', dev);
    }
  });
});
