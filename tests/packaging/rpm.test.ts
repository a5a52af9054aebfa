// Issue 16: the RPM for XenServer / XCP-ng dom0 (scripts/build-rpm). Read back with rpm's own queries, then installed,
// reinstalled and erased with `rpm --root` into an empty root laid out like a dom0, which runs its scriptlets there.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileDigest, packageVersion, ROOT, walkTree } from '../../scripts/pack/common';
import { runnerLines } from '../support/cron-lines';
import { BUNDLE_DIR, ensureBundle, staticBusybox } from '../support/bundle';
import { describeNetns } from '../support/netns';

jest.setTimeout(180_000);

// rpmlib features rpm 4.11 (CentOS 7, so XenServer 8 and XCP-ng 8.x dom0) provides
const RPM_4_11_FEATURES = ['CompressedFileNames', 'FileDigests', 'PayloadFilesHavePrefix', 'TildeInVersions', 'PayloadIsXz', 'PartialHardlinkSets'];

let out: string;
let rpmFile: string;

function rpm(args: string[]): string {
  const r = spawnSync('rpm', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`rpm ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  ensureBundle();
  out = mkdtempSync(join(tmpdir(), 'reroute-rpm-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-rpm'), '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-rpm failed: ${r.stderr}`);
  rpmFile = join(out, `reroute-${packageVersion()}.x86_64.rpm`);
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('rpm: structure', () => {
  it('name, version (a prerelease sorts before its release), arch, and a payload rpm 4.11 can read', () => {
    const [name, version, release, arch, compressor] = rpm(['-qp', '--qf', '%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{PAYLOADCOMPRESSOR}', rpmFile]).split(' ');
    expect(name).toBe('reroute');
    expect(version).toBe(packageVersion().replace('-', '~'));
    expect(release).toBe('1');
    expect(arch).toBe('x86_64');
    expect(compressor).toBe('gzip');
  });

  it('requires nothing of the host but /bin/sh: no glibc version, no library', () => {
    const requires = rpm(['-qp', '--requires', rpmFile]).trim().split('\n');
    expect(requires.filter((r) => !r.startsWith('rpmlib('))).toEqual(['/bin/sh', '/bin/sh']);
    for (const r of requires.filter((x) => x.startsWith('rpmlib('))) {
      expect(RPM_4_11_FEATURES).toContain(/^rpmlib\((\w+)\)/.exec(r)![1]);
    }
  });

  it('lists the bundle under /opt/reroute, the config directory, the cron file (a ghost), the manual pages and the completion, nothing else', () => {
    const listed = rpm(['-qlp', rpmFile]).trim().split('\n');
    const bundle = walkTree(BUNDLE_DIR).map((e) => `/opt/reroute/${e.rel}`);
    const share = listed.filter((p) => p.startsWith('/usr/share/'));
    expect(share).toEqual([
      '/usr/share/bash-completion/completions/reroute',
      expect.stringMatching(/^\/usr\/share\/man\/man5\/reroute-config\.5(\.gz)?$/),
      expect.stringMatching(/^\/usr\/share\/man\/man8\/reroute\.8(\.gz)?$/),
    ]);
    expect(listed).toEqual(['/etc/cron.d/reroute', '/etc/reroute', '/opt/reroute', ...bundle, ...share].sort());
    const ghosts = rpm(['-qp', '--qf', '[%{FILEFLAGS:fflags} %{FILENAMES}\n]', rpmFile]).split('\n').filter((l) => /^\S*g\S* /.test(l));
    expect(ghosts).toEqual([expect.stringMatching(/ \/etc\/cron\.d\/reroute$/)]);
  });

  it('holds the bundle byte for byte (nothing stripped: the executable carries its blob), owned by root, modes kept', () => {
    const rows = rpm(['-qp', '--qf', '[%{FILEDIGESTS} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]', rpmFile]).trim().split('\n');
    const files = new Map(rows.map((l) => l.split(' ')).map(([sum, perms, owner, name]) => [name!, { sum, perms, owner }]));
    for (const e of walkTree(BUNDLE_DIR).filter((x) => !x.dir)) {
      expect({ file: e.rel, sum: files.get(`/opt/reroute/${e.rel}`)?.sum }).toEqual({ file: e.rel, sum: fileDigest(e.abs, 'sha256') });
    }
    expect(files.get('/opt/reroute/bin/reroute')).toMatchObject({ perms: '-rwxr-xr-x', owner: 'root:root' });
    expect(files.get('/etc/reroute')).toMatchObject({ perms: 'drwx------', owner: 'root:root' });
  });

  it('%post runs the installed reroute install through the launcher; %preun runs reroute uninstall on erase only', () => {
    const scripts = rpm(['-qp', '--scripts', rpmFile]);
    expect(scripts).toMatch(/postinstall scriptlet \(using \/bin\/sh\)/);
    expect(scripts).toContain('"$LAUNCHER" --config "$CONFIG" install --every "$EVERY" --node "$LAUNCHER"');
    expect(scripts).toMatch(/preuninstall scriptlet \(using \/bin\/sh\):[\s\S]*if \[ "\$1" = 0 \]; then\n\s+\/opt\/reroute\/bin\/reroute uninstall/);
    expect(scripts).not.toMatch(/postuninstall/);
  });
});

describeNetns('rpm: install, upgrade and erase in a dom0-like root', () => {
  let root: string;
  const cronFile = () => join(root, 'etc/cron.d/reroute');
  const rpmIn = (...args: string[]) => spawnSync('rpm', ['--root', root, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const COMMAND = '/opt/reroute/bin/reroute loop --every 30 --config /etc/reroute/config.json >/dev/null 2>&1';

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'reroute-dom0-'));
    chmodSync(root, 0o755);
    for (const d of ['bin', 'dev', 'etc']) mkdirSync(join(root, d));
    copyFileSync(staticBusybox(), join(root, 'bin/sh'));
    chmodSync(join(root, 'bin/sh'), 0o755);
    expect(spawnSync('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']).status).toBe(0);
    writeFileSync(join(root, 'etc/xensource-inventory'), "PRODUCT_BRAND='XCP-ng'\n");
    expect(rpmIn('--initdb').status).toBe(0);
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('before the config exists: installs the files, writes no cron file, says what to run', () => {
    // --nodeps: the empty root's rpm database has nothing that provides /bin/sh
    const r = rpmIn('-i', '--nodeps', rpmFile);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no \/etc\/reroute\/config\.json yet: write it .* then run: \/opt\/reroute\/bin\/reroute --config/);
    expect(existsSync(join(root, 'opt/reroute/bin/reroute.real'))).toBe(true);
    expect(existsSync(cronFile())).toBe(false);
  });

  it('upgrade with a config: %post writes /etc/cron.d/reroute through the launcher; rpm -qf names the package', () => {
    writeFileSync(join(root, 'etc/reroute/config.json'), '{}\n', { mode: 0o600 });
    writeFileSync(join(root, 'etc/reroute/install.conf'), 'every=30\n');
    const r = rpmIn('-U', '--replacepkgs', '--nodeps', rpmFile);
    expect(r.status).toBe(0);
    expect(readFileSync(cronFile(), 'utf8')).toBe(runnerLines(COMMAND, { user: 'root' }).map((l) => `${l}\n`).join(''));
    expect(rpmIn('-qf', '/etc/cron.d/reroute').stdout.trim()).toBe(`reroute-${packageVersion().replace('-', '~')}-1.x86_64`);
  });

  it('erase: %preun removes the cron lines, rpm removes the bundle; the config stays', () => {
    const r = rpmIn('-e', 'reroute');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/removed \/etc\/cron\.d\/reroute/);
    expect(existsSync(cronFile())).toBe(false);
    expect(existsSync(join(root, 'opt/reroute'))).toBe(false);
    expect(readFileSync(join(root, 'etc/reroute/config.json'), 'utf8')).toBe('{}\n');
  });
});
