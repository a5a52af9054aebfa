// `reroute probe`: argument checks and the table here; the real sweep inside namespaces this file creates.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTargets, formatTable, run } from '../../../lib/cli/commands/probe';
import { ConfigError, UsageError } from '../../../lib/errors';
import { validateConfig } from '../../../lib/config/validate';
import type { Config } from '../../../lib/config/schema';
import type { CommandEnv } from '../../../lib/cli/context';
import type { ProbeResult } from '../../../lib/types';
import { bundleForChild, childEnv, describeNetns, NetnsLab } from '../../support/netns';

/** A config file (mode 0600) whose local SCVM and seed list are the given data IPs. */
function writeConfigFile(localDataIp: string, scvmDataIps: string[], probe: Record<string, number> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-probe-'));
  const path = join(dir, 'config.json');
  const body = {
    platform: 'linux',
    local: { dataIp: localDataIp, manageIp: '127.0.0.1' },
    // each SCVM its own management IP (the config refuses one given twice); the local one as local names it
    scvms: scvmDataIps.map((dataIp, i) => ({ dataIp, manageIp: dataIp === localDataIp ? '127.0.0.1' : `127.0.1.${i + 1}` })),
    probe,
    paths: { state: join(dir, 'state.json'), lock: join(dir, 'lock'), log: join(dir, 'log'), logLink: null },
  };
  writeFileSync(path, JSON.stringify(body));
  chmodSync(path, 0o600);
  return path;
}

function capture(config?: string) {
  const out: string[] = [];
  const env: CommandEnv = {
    globals: { config, dryRun: false, verbose: false },
    display: { out: (l) => out.push(l), err: () => undefined },
  };
  return { out, env };
}

const result = (over: Partial<ProbeResult>): ProbeResult => ({
  ip: '10.0.0.1',
  sent: 3,
  received: 3,
  lossPct: 0,
  rttMinMs: 0.1,
  rttAvgMs: 0.25,
  rttMaxMs: 0.5,
  reachable: true,
  ...over,
});

describe('reroute probe (no network)', () => {
  it('refuses a bad address in one line naming it, before reading the config', async () => {
    const { env } = capture('/nonexistent/config.json');
    await expect(run({ ips: ['10.0.0.1', '10.0.0.300'], json: false }, env)).rejects.toThrow(UsageError);
    await expect(run({ ips: ['10.0.0.300'], json: false }, env)).rejects.toThrow(/not an IPv4 address: 10\.0\.0\.300/);
  });

  it('without IPs it needs the config for the SCVM list', async () => {
    const { env } = capture('/nonexistent/config.json');
    await expect(run({ ips: [], json: false }, env)).rejects.toThrow(/no IPs given and no config file/);
  });

  it('a config file that exists but is wrong is still an error, IPs or not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reroute-probe-'));
    writeFileSync(join(dir, 'config.json'), '{"local": 1}', { mode: 0o600 });
    const { env } = capture(join(dir, 'config.json'));
    await expect(run({ ips: ['127.0.0.1'], json: false }, env)).rejects.toThrow(ConfigError);
  });

  it('defaults to the local data IP then every SCVM data IP, each once', () => {
    const v = validateConfig({
      local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
      scvms: [
        { dataIp: '10.10.85.16', manageIp: '192.168.85.16' },
        { dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
        { dataIp: '10.10.85.17', manageIp: '192.168.85.17' },
      ],
    }, 'esxi');
    expect(v.ok).toBe(true);
    const config = (v as { ok: true; config: Config }).config;
    expect(defaultTargets(config)).toEqual(['10.10.85.15', '10.10.85.16', '10.10.85.17']);
  });

  it('prints aligned columns with the verdict and the send error', () => {
    const lines = formatTable([
      result({ ip: '10.10.85.15' }),
      result({ ip: '10.10.85.100', sent: 10, received: 0, lossPct: 100, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, reachable: false }),
      result({ ip: '10.99.0.1', sent: 0, received: 0, lossPct: 100, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, reachable: false, error: 'ENETUNREACH' }),
    ]);
    expect(lines).toEqual([
      'ip            sent  recv  loss%  rtt min/avg/max ms  verdict',
      '10.10.85.15   3     3     0      0.10/0.25/0.50      reachable',
      '10.10.85.100  10    0     100    -                   unreachable',
      '10.99.0.1     0     0     100    -                   unreachable (ENETUNREACH)',
    ]);
  });
});

describeNetns('reroute probe in a namespace', () => {
  const lab = new NetnsLab('prbc');
  let ns = '';
  let bundle = '';

  beforeAll(() => {
    bundle = bundleForChild('tests/observe/icmp/probe-command-driver.ts');
    ns = lab.addNamespace('host');
    const peer = lab.addNamespace('scvm');
    lab.link(ns, '10.79.0.1/24', peer, '10.79.0.2/24');
    lab.exec(peer, ['nft', '-f', '-'], {
      input: 'table inet rrtest { chain input { type filter hook input priority 0; ip daddr 10.79.0.2 icmp type echo-request drop; }; }',
    });
  });
  afterAll(() => lab.teardown());

  function runCommand(ips: string[], json: boolean, config: string) {
    const r = lab.execRaw(ns, [process.execPath, bundle, JSON.stringify({ ips, json, config })], { env: childEnv() });
    expect(r.signal).toBeNull();
    return JSON.parse(r.stdout.trim()) as { code?: number; out?: string[]; error?: { code: string } };
  }

  const fast = { intervalMs: 20, waitMs: 100, timeoutMs: 1000 };

  it('probes the local and seed SCVM data IPs from the config and exits 0 even when one is silent', () => {
    const config = writeConfigFile('127.0.0.1', ['10.79.0.2', '127.0.0.1'], fast);
    const r = runCommand([], false, config);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(3);
    expect(r.out![1]).toMatch(/^127\.0\.0\.1\s+\d+\s+3\s+0\s+[\d.]+\/[\d.]+\/[\d.]+\s+reachable$/);
    expect(r.out![2]).toMatch(/^10\.79\.0\.2\s+10\s+0\s+100\s+-\s+unreachable$/);
  });

  it('prints JSON with --json, in the order given', () => {
    const config = writeConfigFile('127.0.0.1', [], fast);
    const r = runCommand(['10.99.0.1', '127.0.0.1'], true, config);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out![0]!) as { settings: { count: number }; results: ProbeResult[] };
    expect(body.settings.count).toBe(10);
    expect(body.results.map((x) => [x.ip, x.reachable, x.error])).toEqual([
      ['10.99.0.1', false, 'ENETUNREACH'],
      ['127.0.0.1', true, undefined],
    ]);
  });
});
