// Issue 16: the self-contained bundle runs where there is nothing else. An empty root (chroot) holds only the bundle at
// /opt/reroute and a static busybox as /bin/sh, as ESXi has; no /lib, no /usr, no /proc. `version`, `simulate` and
// `probe` (a real raw socket, inside a network namespace) must all work there through the launcher.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageVersion, ROOT } from '../../scripts/pack/common';
import { BUNDLE_DIR, emptyRootWithBundle, ensureBundle, shippedNodeVersion } from '../support/bundle';
import { writeConfig } from '../support/config';
import { runnerLines } from '../support/cron-lines';
import { describeNetns, NetnsLab } from '../support/netns';

jest.setTimeout(120_000);

const TIMELINE = 'examples/timelines/scvm-crash.json';
const LAUNCHER = '/opt/reroute/bin/reroute';
// cron's PATH; inside the root only /bin exists (holding sh)
const CRON_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

describeNetns('bundle: runs from an empty root', () => {
  let root: string;
  const lab = new NetnsLab('bndl');

  beforeAll(() => {
    ensureBundle();
    root = emptyRootWithBundle();
    mkdirSync(join(root, 'work'));
    copyFileSync(join(ROOT, TIMELINE), join(root, 'work', 'timeline.json'));
    writeFileSync(
      join(root, 'work', 'config.json'),
      JSON.stringify({
        platform: 'linux',
        local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
        scvms: [{ dataIp: '10.10.85.16', manageIp: '192.168.85.16' }],
        paths: { state: '/work/state.json', lock: '/work/reroute.lock', log: '/work/log/scvm_failure.log', logLink: '/work/var-log/scvm_failure.log' },
      }),
      { mode: 0o600 },
    );
  });
  afterAll(() => {
    lab.teardown();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Run the launcher inside the empty root, with cron's bare environment. */
  const inRoot = (args: string[]) =>
    spawnSync('chroot', [root, LAUNCHER, ...args], { encoding: 'utf8', env: { PATH: CRON_PATH }, timeout: 30_000 });

  it('the root holds the bundle and /bin/sh only', () => {
    expect(readdirSync(root).sort()).toEqual(['bin', 'opt', 'work']);
    expect(readdirSync(join(root, 'bin'))).toEqual(['sh']);
    expect(readdirSync(join(root, 'opt', 'reroute')).sort()).toEqual(['BUILD.json', 'bin', 'lib', 'node_modules']);
    // the executable alone cannot start there: its ELF interpreter (/lib64/ld-linux-x86-64.so.2) is not in the root
    const bare = spawnSync('chroot', [root, '/opt/reroute/bin/reroute.real', 'version'], { encoding: 'utf8', env: { PATH: CRON_PATH } });
    expect(bare.stderr).toMatch(/No such file or directory/);
    expect(bare.status).toBe(127);
  });

  it('version: the package version, on the shipped Node', () => {
    const r = inRoot(['version']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${packageVersion()}\n`);
    const json = inRoot(['version', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: packageVersion(), node: shippedNodeVersion(), platform: 'linux-x64' });
  });

  it('simulate: the same timeline output as the checkout build', () => {
    const r = inRoot(['simulate', '/work/timeline.json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const dev = spawnSync(process.execPath, [join(ROOT, 'bin', 'reroute'), 'simulate', join(root, 'work', 'timeline.json')], { encoding: 'utf8' });
    expect(dev.status).toBe(0);
    expect(r.stdout).toBe(dev.stdout);
    expect(r.stdout).toMatch(/switch 10\.10\.85\.15 -> 10\.10\.85\.16/);
  });

  it('probe 127.0.0.1 inside a network namespace: raw.node loads from the bundle and the echoes come back', () => {
    const ns = lab.addNamespace('p');
    const r = lab.execRaw(ns, ['chroot', root, LAUNCHER, '--config', '/work/config.json', 'probe', '127.0.0.1', '--json'], {
      env: { PATH: CRON_PATH },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { results: { ip: string; reachable: boolean; received: number }[] };
    expect(out.results).toEqual([expect.objectContaining({ ip: '127.0.0.1', reachable: true, received: 3 })]);
  });

  it('doctor: every check reports, none hangs; the runtime line is the bundle\'s glibc, found without /proc or ldd', () => {
    const ns = lab.addNamespace('d');
    const r = lab.execRaw(ns, ['chroot', root, LAUNCHER, '--config', '/work/config.json', 'doctor', '--json'], { env: { PATH: CRON_PATH } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1); // nothing but the bundle here: no ip command, no crond, no SCVM
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string }[] };
    expect(report.checks).toHaveLength(14);
    expect(report.checks.find((c) => c.id === 'runtime')).toEqual(
      expect.objectContaining({ status: 'ok', detail: expect.stringMatching(new RegExp(`^node ${shippedNodeVersion().replace(/\./g, '\\.')} from the bundle /opt/reroute, glibc \\d+\\.\\d+ \\(bundled\\)`)) }),
    );
    expect(report.checks.find((c) => c.id === 'clock')).toEqual(expect.objectContaining({ status: 'warn', detail: expect.stringMatching(/no \/proc\/sys\/kernel\/random\/boot_id/) }));
    expect(report.checks.filter((c) => /did not finish|the check itself failed/.test(c.detail))).toEqual([]);
  });

  it('install from the bundle writes cron lines that run the launcher, not the loader it was started through', () => {
    const r = inRoot(['--config', '/work/config.json', 'install', '--every', '30', '--platform', 'linux']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = readFileSync(join(root, 'etc', 'cron.d', 'reroute'), 'utf8').trim().split('\n');
    expect(lines).toEqual(runnerLines(`${LAUNCHER} loop --every 30 --config /work/config.json >/dev/null 2>&1`, { user: 'root' }));
    expect(inRoot(['uninstall', '--platform', 'linux']).status).toBe(0);
    expect(existsSync(join(root, 'etc', 'cron.d', 'reroute'))).toBe(false);
  });
});

describeNetns('bundle: launcher and executable refuse to guess where the bundle is', () => {
  const lab = new NetnsLab('bnd2');
  beforeAll(() => ensureBundle());
  afterAll(() => lab.teardown());

  it('a symlink to the launcher is refused with the fix', () => {
    const link = join(ROOT, '.tmp', `reroute-link-${process.pid}`);
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    symlinkSync(join(BUNDLE_DIR, 'bin', 'reroute'), link);
    try {
      const r = spawnSync(link, ['version'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/is a symlink: run the launcher by its real path/);
    } finally {
      rmSync(link, { force: true });
    }
  });

  it('the executable started without its launcher cannot find raw.node: one line naming the launcher, exit 2', () => {
    const ns = lab.addNamespace('p');
    const { dir, path } = writeConfig();
    try {
      const r = lab.execRaw(ns, [join(BUNDLE_DIR, 'bin', 'reroute.real'), '--config', path, 'probe', '127.0.0.1'], { env: { PATH: CRON_PATH } });
      expect(r.stderr).toMatch(/REROUTE_BUNDLE is not set: start the single executable through its launcher/);
      expect(r.status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
