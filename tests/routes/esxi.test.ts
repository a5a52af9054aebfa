import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completeConfig, configSchema, type Config, type ConfigInput } from '../../lib/config/schema';
import { ConfigError, MissingValueError, RouteError } from '../../lib/errors';
import { createRouteBackend, type RouteBackend, type SwitchResult } from '../../lib/routes';
import { fakeEsxiHost, type FakeEsxiHost, type FakeEsxiState, type FakeEsxiTool } from '../support/esxi';
import { armDeadline } from '../../lib/runtime/deadline';
import { recordingLog, type RecordingLog } from '../support/log';

const VIP = '192.168.33.2';

function config(extra: Partial<ConfigInput> = {}): Config {
  return completeConfig(configSchema.parse({ local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' }, ...extra }), 'esxi');
}

let host: FakeEsxiHost;
let log: RecordingLog;

async function backend(
  opts: { dryRun?: boolean; tools?: FakeEsxiTool[]; cfg?: Partial<ConfigInput>; state?: Partial<FakeEsxiState> } = {},
): Promise<RouteBackend> {
  host = fakeEsxiHost({ tools: opts.tools, state: opts.state });
  log = recordingLog();
  return createRouteBackend(config(opts.cfg), log, { dryRun: opts.dryRun ?? false, env: host.env, detect: { kernel: 'VMkernel' } });
}

const vipGateways = () =>
  host
    .readState()
    .routes.filter((r) => r.network === VIP)
    .map((r) => r.gateway);

async function routeError(p: Promise<unknown>): Promise<RouteError & { context: { result: SwitchResult } }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RouteError);
    return e as RouteError & { context: { result: SwitchResult } };
  }
  throw new Error('expected a RouteError');
}

afterEach(() => host?.cleanup());

describe('ESXi backend over the fake esxcfg-route', () => {
  it('is picked by auto detection on a VMkernel and reads the VIP next hop', async () => {
    const b = await backend();
    expect(b.platform).toBe('esxi');
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15'] });
    expect(host.calls().map((c) => [c.tool, ...c.argv])).toEqual([['esxcfg-route', '-l']]);
  });

  it('reads old hosts without the Interface column, and no route at all', async () => {
    const b = await backend({ state: { format: 'old' } });
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15'] });
    host.writeState({ routes: host.readState().routes.filter((r) => r.network !== VIP) });
    expect(await b.readVip()).toEqual({ ok: true, nextHops: [] });
  });

  it('switches by delete then add, and reads back', async () => {
    const b = await backend();
    const r = await b.switchTo('10.10.85.16', ['10.10.85.15']);
    expect(r).toEqual({
      changed: true,
      dryRun: false,
      commands: [
        ['esxcfg-route', '-d', `${VIP}/32`, '10.10.85.15'],
        ['esxcfg-route', '-a', `${VIP}/32`, '10.10.85.16'],
      ],
      before: ['10.10.85.15'],
      after: ['10.10.85.16'],
      restored: false,
    });
    expect(vipGateways()).toEqual(['10.10.85.16']);
    expect(host.calls().map((c) => c.argv.join(' '))).toEqual([
      `-d ${VIP}/32 10.10.85.15`,
      `-a ${VIP}/32 10.10.85.16`,
      '-l',
    ]);
  });

  it('issues no command at all when the route is already right', async () => {
    const b = await backend();
    const r = await b.switchTo('10.10.85.15', ['10.10.85.15']);
    expect(r).toMatchObject({ changed: false, commands: [], after: ['10.10.85.15'] });
    expect(host.calls()).toEqual([]);
  });

  it('only adds when there is no current route', async () => {
    const b = await backend();
    host.writeState({ routes: host.readState().routes.filter((r) => r.network !== VIP) });
    const r = await b.switchTo('10.10.85.17', []);
    expect(r.commands).toEqual([['esxcfg-route', '-a', `${VIP}/32`, '10.10.85.17']]);
    expect(vipGateways()).toEqual(['10.10.85.17']);
  });

  it('dry run decides and logs but issues no changing command', async () => {
    const b = await backend({ dryRun: true });
    const r = await b.switchTo('10.10.85.16', ['10.10.85.15']);
    expect(r).toMatchObject({ changed: false, dryRun: true, after: ['10.10.85.15'] });
    expect(r.commands).toHaveLength(2);
    expect(host.changingCalls()).toEqual([]);
    expect(vipGateways()).toEqual(['10.10.85.15']);
    expect(log.messages('info')).toEqual([
      `dry run: would run "esxcfg-route -d ${VIP}/32 10.10.85.15"`,
      `dry run: would run "esxcfg-route -a ${VIP}/32 10.10.85.16"`,
    ]);
  });

  it('puts the old route back at once when the add fails', async () => {
    const b = await backend({ state: { fail: { add: 1 } } });
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15']));
    expect(e.code).toBe('E_ROUTE');
    expect(e.message).toContain('adding the route from 192.168.33.2 to 10.10.85.16 failed');
    expect(e.message).toContain('put back the route via 10.10.85.15');
    expect(e.context.result).toMatchObject({ restored: true, after: ['10.10.85.15'] });
    expect(vipGateways()).toEqual(['10.10.85.15']);
    expect(host.changingCalls().map((c) => c.argv.join(' '))).toEqual([
      `-d ${VIP}/32 10.10.85.15`,
      `-a ${VIP}/32 10.10.85.16`,
      `-a ${VIP}/32 10.10.85.15`,
    ]);
    // The failed command's status and output went to the log.
    const failed = log.entries.find((x) => x.level === 'error' && x.message.includes(`-a ${VIP}/32 10.10.85.16`));
    expect(failed?.context).toMatchObject({ status: 1, stderr: expect.stringContaining('simulated failure of add') });
  });

  it('reports both failures when every attempt at putting the old route back fails too', async () => {
    const b = await backend({ state: { fail: { add: true } } });
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15']));
    expect(e.message).toMatch(
      /adding the route .* failed: .*simulated failure of add.*; putting back the route via 10\.10\.85\.15 also failed \(5 attempts; last: .*simulated failure of add/,
    );
    expect(e.context.result.restored).toBe(false);
    expect(e.context).toMatchObject({ addError: expect.any(String), restoreError: expect.any(String), restoreAttempts: 5 });
  });

  it('stops before adding when the delete fails, leaving the route in place', async () => {
    const b = await backend({ state: { fail: { delete: 1 } } });
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15']));
    expect(e.message).toContain('could not delete the route from 192.168.33.2 via 10.10.85.15');
    expect(host.changingCalls()).toHaveLength(1);
    expect(vipGateways()).toEqual(['10.10.85.15']);
  });

  it('refuses to build a command from a missing next hop', async () => {
    const b = await backend();
    await expect(b.switchTo('None', ['10.10.85.15'])).rejects.toBeInstanceOf(MissingValueError);
    await expect(b.switchTo('10.10.85.16', ['undefined'])).rejects.toBeInstanceOf(MissingValueError);
    await expect(b.switchTo(VIP, ['10.10.85.15'])).rejects.toBeInstanceOf(RouteError);
    expect(host.calls()).toEqual([]);
  });

  it('turns garbage output into a read failure naming the command and line', async () => {
    const b = await backend({ state: { output: { list: 'VMkernel Routes:\nNetwork Netmask Gateway Interface\nhello world\n' } } });
    expect(await b.readVip()).toEqual({ ok: false, reason: 'esxcfg-route -l: bad network or netmask in line: "hello world"' });
    expect(log.messages('error')).toEqual(['esxcfg-route -l: bad network or netmask in line: "hello world"']);
  });

  it('lists host IPs from esxcfg-vmknic -l without the NFS vmknic', async () => {
    const b = await backend();
    expect(await b.hostIps()).toEqual(['192.168.85.11', '10.10.85.11']);
  });
});

describe('ESXi backend: hard timeouts (field incident: esxcfg-route -l hung the agent)', () => {
  it('a hanging list is killed at the timeout and read returns a failure', async () => {
    const b = await backend({ state: { hang: ['-l'] }, cfg: { commandTimeoutMs: 500 } });
    const t0 = Date.now();
    const r = await b.readVip();
    expect(Date.now() - t0).toBeLessThan(10_000); // the hung command never ends by itself
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('esxcfg-route -l" ran past its 500 ms timeout') });
  });

  it('a hanging add is killed, the old route is tried again, and the switch throws in time', async () => {
    const b = await backend({ state: { hang: ['-a'] }, cfg: { commandTimeoutMs: 500 } });
    const t0 = Date.now();
    // the pass leaves this switch 4 s: the add, the first try at putting the old route back, and one retry fit
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15'], { budgetMs: 4000 }));
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(e.message).toContain('ran past its 500 ms timeout');
    const adds = e.context.result.commands.map((c) => c.join(' ')).filter((c) => c.includes(' -a '));
    expect(adds[0]).toBe(`esxcfg-route -a ${VIP}/32 10.10.85.16`);
    expect(adds.slice(1).every((c) => c === `esxcfg-route -a ${VIP}/32 10.10.85.15`)).toBe(true);
    expect(adds.length).toBeGreaterThanOrEqual(2);
    expect(adds.length).toBeLessThanOrEqual(6);
  });
});

describe('issue 15 case 6: ESXi restoring the old route is retried within the pass', () => {
  const attempts = () => log.messages('warn').filter((m) => m.startsWith('putting back the route'));

  it('the add and the first two tries at putting the old route back fail: the third puts it back, each try logged', async () => {
    const b = await backend({ state: { fail: { add: 3 } } });
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15']));
    expect(e.message).toContain('put back the route via 10.10.85.15 (attempt 3)');
    expect(e.context.result).toMatchObject({ restored: true, after: ['10.10.85.15'] });
    expect(e.context).toMatchObject({ restoreAttempts: 3 });
    expect(vipGateways()).toEqual(['10.10.85.15']);
    expect(host.changingCalls().map((c) => c.argv.join(' '))).toEqual([
      `-d ${VIP}/32 10.10.85.15`,
      `-a ${VIP}/32 10.10.85.16`,
      `-a ${VIP}/32 10.10.85.15`,
      `-a ${VIP}/32 10.10.85.15`,
      `-a ${VIP}/32 10.10.85.15`,
    ]);
    expect(attempts()).toEqual([1, 2, 3].map((n) => `putting back the route from ${VIP} via 10.10.85.15 (attempt ${n} of 5)`));
    expect(log.messages('error').filter((m) => m.startsWith('putting back the route'))).toEqual([
      expect.stringMatching(/^putting back the route from 192\.168\.33\.2 via 10\.10\.85\.15 failed \(attempt 1 of 5\): .*simulated failure of add/),
      expect.stringMatching(/\(attempt 2 of 5\)/),
    ]);
  });

  it('with no time left in the pass there is one try only, and the log says why there is no other', async () => {
    const b = await backend({ state: { fail: { add: true } } });
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15'], { budgetMs: 0 }));
    expect(e.context).toMatchObject({ restoreAttempts: 1 });
    expect(attempts()).toHaveLength(1);
    expect(log.messages('warn')).toContain(`no time left in this pass for another try at putting back the route from ${VIP} via 10.10.85.15`);
    expect(vipGateways()).toEqual([]);
  });

  it('an add that ran past its timeout but took effect ends the retries: the route is there, nothing is added on top', async () => {
    const b = await backend({ state: { hangDone: { add: 1 } }, cfg: { commandTimeoutMs: 500 } });
    const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15']));
    expect(e.message).toContain('the route is there via 10.10.85.16 after all');
    expect(e.context.result).toMatchObject({ restored: false, after: ['10.10.85.16'] });
    expect(vipGateways()).toEqual(['10.10.85.16']);
    // the first try at .15 fails on the existing route; the read before the second finds .16
    expect(host.changingCalls().map((c) => c.argv.join(' '))).toEqual([
      `-d ${VIP}/32 10.10.85.15`,
      `-a ${VIP}/32 10.10.85.16`,
      `-a ${VIP}/32 10.10.85.15`,
    ]);
    expect(log.messages('warn')).toContain(`the route from ${VIP} is there after all, via 10.10.85.16: no more tries`);
  });

  it('what is left of the pass deadline (Deadline.leftMs, as act hands it over) bounds the tries: a minute holds all 5', async () => {
    const b = await backend({ state: { fail: { add: true } } });
    const deadline = armDeadline(60_000, 1000, recordingLog());
    try {
      expect(deadline.leftMs()).toBeGreaterThan(50_000);
      expect(deadline.leftMs()).toBeLessThanOrEqual(60_000);
      const e = await routeError(b.switchTo('10.10.85.16', ['10.10.85.15'], { budgetMs: deadline.leftMs() }));
      expect(e.context).toMatchObject({ restoreAttempts: 5 });
    } finally {
      deadline.stop();
    }
  });
});

describe('ESXi backend over esxcli where esxcfg-route is missing', () => {
  it('reads, switches and verifies with esxcli', async () => {
    const b = await backend({ tools: ['esxcli', 'esxcfg-vmknic'] });
    expect(b.platform).toBe('esxi');
    expect(await b.readVip()).toEqual({ ok: true, nextHops: ['10.10.85.15'] });
    const r = await b.switchTo('10.10.85.16', ['10.10.85.15']);
    expect(r.commands).toEqual([
      ['esxcli', 'network', 'ip', 'route', 'ipv4', 'remove', '--gateway', '10.10.85.15', '--network', `${VIP}/32`],
      ['esxcli', 'network', 'ip', 'route', 'ipv4', 'add', '--gateway', '10.10.85.16', '--network', `${VIP}/32`],
    ]);
    expect(r.after).toEqual(['10.10.85.16']);
    expect(vipGateways()).toEqual(['10.10.85.16']);
  });
});

describe('platform detection and the factory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reroute-detect-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('auto: ESXi when the kernel is VMkernel, whatever PATH holds; XenServer and Linux get the Linux backend', async () => {
    const env = { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'xensource-inventory'), "INSTALLATION_UUID='x'\n");
    const xen = await createRouteBackend(config(), recordingLog(), { dryRun: false, env, detect: { root: dir } });
    expect(xen.platform).toBe('linux');
    const linux = await createRouteBackend(config(), recordingLog(), { dryRun: false, env, detect: { kernel: 'Linux' } });
    expect(linux.platform).toBe('linux');
    // the fake ESXi tools are on PATH here, but the kernel decides
    const fake = fakeEsxiHost({});
    const esxi = await createRouteBackend(config(), recordingLog(), { dryRun: false, env: fake.env, detect: { kernel: 'VMkernel' } });
    expect(esxi.platform).toBe('esxi');
    const notEsxi = await createRouteBackend(config(), recordingLog(), { dryRun: false, env: fake.env, detect: { kernel: 'Linux' } });
    expect(notEsxi.platform).toBe('linux');
  });

  it('a forced esxi without its tools, or an unknown platform, is a config error', async () => {
    const env = { ...process.env, PATH: dir };
    await expect(createRouteBackend(config({ platform: 'esxi' }), recordingLog(), { dryRun: false, env })).rejects.toThrow(
      ConfigError,
    );
    const bad = { ...config(), platform: 'hyperv' } as unknown as Config;
    await expect(createRouteBackend(bad, recordingLog(), { dryRun: false, env })).rejects.toThrow(/platform: "hyperv"/);
  });
});

describe('the fake commands themselves', () => {
  const fake = (h: FakeEsxiHost, argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { env: h.env, encoding: 'utf8' });

  it('reject malformed arguments, duplicate adds and missing deletes with an error line', () => {
    host = fakeEsxiHost();
    for (const argv of [
      ['esxcfg-route', '-a', `${VIP}/33`, '10.10.85.16'],
      ['esxcfg-route', '-a', `${VIP}/32`],
      ['esxcfg-route', '-x'],
      ['esxcfg-route', '-a', `${VIP}/32`, '10.10.85.16'],
      ['esxcfg-route', '-d', `${VIP}/32`, '10.10.85.17'],
      ['esxcfg-route', '-a', '10.30.0.0/16', '10.99.0.1'],
      ['esxcli', 'network', 'ip', 'route', 'ipv4', 'add', '--gateway', '10.10.85.16'],
      ['esxcli', 'network', 'ip', 'route', 'ipv6', 'list'],
      ['esxcfg-vmknic', '-a'],
    ]) {
      const r = fake(host, argv);
      expect({ argv, status: r.status }).toEqual({ argv, status: 1 });
      expect(r.stderr).toMatch(/^Error: /);
    }
    expect(vipGateways()).toEqual(['10.10.85.15']);
    expect(host.calls()).toHaveLength(9);
  });
});
