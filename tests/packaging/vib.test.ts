// Issue 16: the VIB (scripts/build-vib). Its structure, read back with `ar` and `tar` as ESXi's installer reads it, and
// its init script run in an empty root laid out like an ESXi host (busybox sh, root's crontab, local.sh, crond).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { digest, packageVersion, ROOT } from '../../scripts/pack/common';
import { BEYOND_COMMUNITY, levelAllows } from '../../scripts/pack/vib-paths';
import { runnerLines } from '../support/cron-lines';
import { ensureBundle, staticBusybox } from '../support/bundle';
import { describeNetns, NetnsLab } from '../support/netns';

jest.setTimeout(180_000);

const COMMAND = (every: number, config = 'config.json') =>
  `/opt/reroute/bin/reroute loop --every ${every} --config /scratch/reroute/${config} >/dev/null 2>&1`;

/** Build the VIB into a temp dir; returns its path. */
function buildVib(out: string): string {
  ensureBundle();
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-vib'), '--out', out], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' } });
  if (r.status !== 0) throw new Error(`scripts/build-vib failed: ${r.stderr}`);
  expect(r.stdout).toMatch(/reroute_bootbank_reroute_/);
  return join(out, `reroute-${packageVersion()}.vib`);
}

function ar(args: string[]): Buffer {
  const r = spawnSync('ar', args, { maxBuffer: 512 << 20 });
  if (r.status !== 0) throw new Error(`ar ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** The text of one XML element (the first). */
const element = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

// built once for the whole file
let out: string;
let vib: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'reroute-vib-'));
  vib = buildVib(out);
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('vib: structure', () => {
  let descriptor: string;
  let payload: Buffer;

  beforeAll(() => {
    descriptor = ar(['p', vib, 'descriptor.xml']).toString('utf8');
    payload = ar(['p', vib, 'reroute']);
  });

  it('is an ar archive of descriptor.xml, an empty sig.pkcs7 and the payload, in that order, with plain member names', () => {
    expect(ar(['t', vib]).toString().trim().split('\n')).toEqual(['descriptor.xml', 'sig.pkcs7', 'reroute']);
    expect(ar(['p', vib, 'sig.pkcs7']).length).toBe(0);
    const bytes = readFileSync(vib);
    expect(bytes.subarray(0, 8).toString()).toBe('!<arch>\n');
    // the first header: name padded with spaces (no GNU '/'), mtime/uid/gid 0, mode 100644, then the size
    expect(bytes.subarray(8, 8 + 48).toString()).toBe(`${'descriptor.xml'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}`);
    expect(bytes.subarray(8 + 58, 8 + 60).toString()).toBe('`\n');
  });

  it("the descriptor's size and checksums are the payload's", () => {
    const p = /<payload name="reroute" type="tgz" size="(\d+)">/.exec(descriptor);
    expect(p).not.toBeNull();
    expect(Number(p![1])).toBe(payload.length);
    const sums = [...descriptor.matchAll(/<checksum checksum-type="([^"]+)"(?: verify-process="([^"]+)")?>([0-9a-f]+)<\/checksum>/g)].map((m) => ({ type: m[1], process: m[2], value: m[3] }));
    const tar = gunzipSync(payload);
    expect(sums).toEqual([
      { type: 'sha-256', process: undefined, value: digest(payload, 'sha256') },
      { type: 'sha-256', process: 'gunzip', value: digest(tar, 'sha256') },
      { type: 'sha-1', process: 'gunzip', value: digest(tar, 'sha1') },
    ]);
  });

  it('community acceptance, live install and removal, no maintenance mode, the package version', () => {
    expect(element(descriptor, 'name')).toBe('reroute');
    expect(element(descriptor, 'version')).toBe(packageVersion().includes('-') ? packageVersion() : `${packageVersion()}-1`);
    expect(element(descriptor, 'type')).toBe('bootbank');
    expect(element(descriptor, 'acceptance-level')).toBe('community');
    expect(element(descriptor, 'live-install-allowed')).toBe('true');
    expect(element(descriptor, 'live-remove-allowed')).toBe('true');
    expect(element(descriptor, 'maintenance-mode')).toBe('false');
    expect(element(descriptor, 'release-date')).toBe('2026-01-01T00:00:00');
  });

  it("the file list is the payload's files: the bundle under /opt/reroute, the init script, the firewall ruleset", () => {
    const listed = [...descriptor.matchAll(/<file>([^<]+)<\/file>/g)].map((m) => m[1]);
    const tar = spawnSync('tar', ['--list', '--verbose', '--gzip', '--numeric-owner'], { input: payload, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(tar.status).toBe(0);
    const entries = tar.stdout.trim().split('\n').map((l) => {
      const f = l.trim().split(/\s+/);
      return { mode: f[0]!, owner: f[1]!, name: f[f.length - 1]! };
    });
    const files = entries.filter((e) => !e.mode.startsWith('d')).map((e) => e.name);
    expect(listed).toEqual(files);
    expect(files).toEqual(
      expect.arrayContaining([
        'etc/init.d/reroute',
        'etc/vmware/firewall/reroute.xml',
        'opt/reroute/bin/reroute',
        'opt/reroute/bin/reroute.real',
        'opt/reroute/lib/ld-linux-x86-64.so.2',
        'opt/reroute/lib/libc.so.6',
        'opt/reroute/lib/reroute-shim.so',
        'opt/reroute/node_modules/raw-socket/build/Release/raw.node',
      ]),
    );
    expect(files).toEqual(expect.arrayContaining(['etc/vmware/vm-support/reroute.mfx', 'opt/reroute/share/man/man8/reroute.8', 'opt/reroute/share/man/man5/reroute-config.5']));
    expect(files.every((f) => f.startsWith('opt/reroute/') || f.startsWith('etc/'))).toBe(true);
    expect(entries.every((e) => e.owner === '0/0')).toBe(true);
    const mode = (name: string) => entries.find((e) => e.name === name)!.mode;
    expect(mode('etc/init.d/reroute')).toBe('-rwxr-xr-x');
    expect(mode('opt/reroute/bin/reroute')).toBe('-rwxr-xr-x');
    expect(mode('opt/reroute/lib/ld-linux-x86-64.so.2')).toBe('-rwxr-xr-x');
  });

  it('every payload path is one a community VIB may use, but the ones docs/esxi.md names with the flags they need', () => {
    const tar = spawnSync('tar', ['--list', '--gzip'], { input: payload, encoding: 'utf8', maxBuffer: 64 << 20 });
    const paths = tar.stdout.trim().split('\n').filter((p) => !p.endsWith('/')).map((p) => `/${p}`);
    const beyond = paths.filter((p) => !levelAllows('community', p));
    expect(beyond).toEqual([...BEYOND_COMMUNITY.keys()]);
    // each is a path the partner level allows (a partner-signed build needs no -f), and docs/esxi.md names it
    const docs = readFileSync(join(ROOT, 'docs', 'esxi.md'), 'utf8');
    for (const p of beyond) {
      expect(levelAllows('partner', p)).toBe(true);
      expect(docs).toContain(`\`${p}\``);
    }
    expect(docs).toMatch(/esxcli software vib install -v \S+ -f/);
    // the lists themselves: what the rule check refuses of a community VIB
    expect(['/bin/reroute', '/etc/rc.local.d/reroute.sh', '/usr/sbin/reroute', '/etc/init.d/reroute'].filter((p) => levelAllows('community', p))).toEqual([]);
  });

  it('the vm-support manifest collects the log, the record and what status, doctor and config check say; never the state file or the config', () => {
    const mfx = spawnSync('tar', ['--extract', '--gzip', '--to-stdout', 'etc/vmware/vm-support/reroute.mfx'], { input: payload, maxBuffer: 64 << 20 }).stdout.toString();
    const lines = mfx.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(mfx).toMatch(/^# Manifest name: Reroute\n# Manifest group: Storage\n# Manifest default: Enabled\n/);
    expect(lines.every((l) => /^(copy|run) +(-|TIMEOUT=\d+) +\/\S+/.test(l))).toBe(true);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^copy +- +\/scratch\/log\/scvm_failure\.log\*$/), expect.stringMatching(/^run +TIMEOUT=30 +\/opt\/reroute\/bin\/reroute status --json$/)]));
    expect(mfx).not.toMatch(/state\.json|config\.json/);
  });

  it('the firewall ruleset opens outbound TCP to the API (80, 443) and NFS (2049), and nothing inbound', () => {
    const tar = spawnSync('tar', ['--extract', '--gzip', '--to-stdout', 'etc/vmware/firewall/reroute.xml'], { input: payload, maxBuffer: 64 << 20 });
    const xml = tar.stdout.toString();
    const rules = [...xml.matchAll(/<rule id="\d{4}">\s*<direction>(\w+)<\/direction>\s*<protocol>(\w+)<\/protocol>\s*<porttype>(\w+)<\/porttype>\s*<port>(\d+)<\/port>\s*<\/rule>/g)].map(
      (m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`,
    );
    expect(rules).toEqual(['outbound tcp dst 80', 'outbound tcp dst 443', 'outbound tcp dst 2049']);
    expect(element(xml, 'id')).toBe('reroute');
    expect(element(xml, 'enabled')).toBe('true');
  });
});

describeNetns('vib: the init script on an ESXi-like root', () => {
  let root: string;

  const crontab = () => readFileSync(join(root, 'var/spool/cron/crontabs/root'), 'utf8');
  const localSh = () => readFileSync(join(root, 'etc/rc.local.d/local.sh'), 'utf8');
  const ours = (text: string) => text.split('\n').filter((l) => l.endsWith('# reroute-agent'));
  const init = (...args: string[]) =>
    spawnSync('chroot', [root, '/etc/init.d/reroute', ...args], { encoding: 'utf8', env: { PATH: '/bin:/sbin' }, timeout: 60_000 });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'reroute-esxi-root-'));
    chmodSync(root, 0o755);
    // the payload as ESXi lays it down, and what an ESXi host has around it
    const payload = ar(['p', vib, 'reroute']);
    expect(spawnSync('tar', ['--extract', '--gzip', '-C', root], { input: payload, maxBuffer: 64 << 20 }).status).toBe(0);
    for (const d of ['bin', 'dev', 'etc/vmware', 'etc/rc.local.d', 'var/spool/cron/crontabs', 'var/run', 'scratch/reroute', 'usr/lib/vmware/busybox/bin', 'work']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    copyFileSync(staticBusybox(), join(root, 'bin/sh'));
    chmodSync(join(root, 'bin/sh'), 0o755);
    expect(spawnSync('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']).status).toBe(0);
    writeFileSync(join(root, 'etc/vmware/esx.conf'), '/adv/Misc/HostName = "esx-test"\n');
    writeFileSync(join(root, 'var/spool/cron/crontabs/root'), '1    1    *   *   *   /sbin/tmpwatch.py\n', { mode: 0o600 });
    writeFileSync(join(root, 'etc/rc.local.d/local.sh'), '#!/bin/sh\n\n# local configuration options\n\nexit 0\n', { mode: 0o1755 });
    // crond as ESXi starts it; here it only records that it was started
    writeFileSync(join(root, 'usr/lib/vmware/busybox/bin/busybox'), '#!/bin/sh\necho "$*" >> /work/crond-starts\n', { mode: 0o755 });
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('without a config it installs nothing and says what to do', () => {
    const r = init('start', 'install');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no \/scratch\/reroute\/config\.json yet: write it/);
    expect(ours(crontab())).toEqual([]);
  });

  it('start install / start (boot): the cron lines through the launcher, the boot block, crond restarted', () => {
    writeFileSync(join(root, 'scratch/reroute/config.json'), '{}\n', { mode: 0o600 });
    const r = init('start', 'install');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ours(crontab())).toEqual(runnerLines(COMMAND(1)));
    expect(crontab()).toContain('/sbin/tmpwatch.py');
    expect(localSh()).toContain('# >>> reroute-agent');
    expect(readFileSync(join(root, 'work/crond-starts'), 'utf8')).toBe('crond\n');

    // at boot ESXi's crontab comes back without our lines: `start` puts them back
    writeFileSync(join(root, 'var/spool/cron/crontabs/root'), '1    1    *   *   *   /sbin/tmpwatch.py\n', { mode: 0o600 });
    expect(init('start').status).toBe(0);
    expect(ours(crontab())).toHaveLength(3);
  });

  it('the cadence and the config path come from /scratch/reroute/install.conf', () => {
    writeFileSync(join(root, 'scratch/reroute/other.json'), '{}\n', { mode: 0o600 });
    writeFileSync(join(root, 'scratch/reroute/install.conf'), 'every=30\nconfig=/scratch/reroute/other.json\n');
    try {
      expect(init('start').status).toBe(0);
      expect(ours(crontab())).toEqual(runnerLines(COMMAND(30, 'other.json')));
    } finally {
      rmSync(join(root, 'scratch/reroute/install.conf'));
    }
    expect(init('start').status).toBe(0);
    expect(ours(crontab())).toHaveLength(3);
  });

  it('boot_probe: at boot the init script also writes what the raw socket sees from the boot context', () => {
    const lab = new NetnsLab('vibp');
    const config = join(root, 'scratch/reroute/config.json');
    try {
      const ns = lab.addNamespace('h');
      writeFileSync(
        config,
        JSON.stringify({
          local: { dataIp: '127.0.0.2', manageIp: '127.0.0.12' },
          scvms: [{ dataIp: '127.0.0.3', manageIp: '127.0.0.13' }],
          paths: { state: '/scratch/reroute/state.json', lock: '/scratch/reroute/reroute.lock', log: '/scratch/log/scvm_failure.log', logLink: '/scratch/log/link.log' },
        }),
        { mode: 0o600 },
      );
      writeFileSync(join(root, 'scratch/reroute/install.conf'), 'boot_probe=/scratch/reroute/boot-probe.json\n');
      const r = lab.execRaw(ns, ['chroot', root, '/etc/init.d/reroute', 'start'], { env: { PATH: '/bin:/sbin' } });
      expect(r.status).toBe(0);
      expect(ours(crontab())).toHaveLength(3);
      const probe = JSON.parse(readFileSync(join(root, 'scratch/reroute/boot-probe.json'), 'utf8')) as { results: { ip: string; reachable: boolean }[] };
      expect(probe.results.map((p) => [p.ip, p.reachable])).toEqual([
        ['127.0.0.2', true],
        ['127.0.0.3', true],
      ]);
    } finally {
      lab.teardown();
      rmSync(join(root, 'scratch/reroute/install.conf'), { force: true });
      writeFileSync(config, '{}\n', { mode: 0o600 });
    }
  });

  it('stop upgrade keeps the lines (the new VIB puts the same back); stop remove takes them and the boot block away', () => {
    expect(init('stop', 'upgrade').status).toBe(0);
    expect(ours(crontab())).toHaveLength(3);
    expect(init('stop').status).toBe(0);
    expect(ours(crontab())).toHaveLength(3);
    const r = init('stop', 'remove');
    expect(r.status).toBe(0);
    expect(ours(crontab())).toEqual([]);
    expect(crontab()).toContain('/sbin/tmpwatch.py');
    expect(localSh()).not.toContain('reroute-agent');
    expect(existsSync(join(root, 'etc/rc.local.d/local.sh'))).toBe(true);
  });
});
