// Mounts for the file-fault tests (issue 26): a small tmpfs (to fill), a read-only bind mount, and stallfs, a FUSE
// file system that stops answering on demand or behaves as a nearly full disk (tests/support/fuse/stallfs.c, built
// here with gcc against libfuse3, which scripts/install-deps installs). Root only. Every mount is made before the
// agent's crond starts (`ip netns exec` copies the mount table when it starts), and removed by the test that made it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCE = join(__dirname, 'fuse', 'stallfs.c');

/** Build stallfs (once per source version) and return its path. */
export function buildStallfs(): string {
  const src = readFileSync(SOURCE);
  const bin = join(tmpdir(), `reroute-stallfs-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' }).trim().split(/\s+/);
  const tmp = `${bin}.${process.pid}`;
  execFileSync('cc', ['-O2', '-Wall', '-o', tmp, SOURCE, ...flags], { stdio: 'pipe' });
  renameSync(tmp, bin); // atomic: parallel test files may build it at once
  return bin;
}

/** Why the fault mounts cannot be made here, or null. */
export function mountsUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  try {
    execFileSync('pkg-config', ['--exists', 'fuse3']);
  } catch {
    return 'no libfuse3 (scripts/install-deps installs it)';
  }
  return null;
}

export interface Stallfs {
  /** Every operation from now on waits (the file system stops answering). */
  stall(): void;
  /** Answer again: what waited goes on. */
  resume(): void;
  /** Behave as a disk with `bytes` left (short writes, then ENOSPC); null: no limit. */
  setFree(bytes: number | null): void;
  /** Resume, unmount, stop the daemon. */
  unmount(): void;
}

/** Mount stallfs at `mountPoint` over `backing` (both created as needed). */
export async function mountStallfs(backing: string, mountPoint: string): Promise<Stallfs> {
  const bin = buildStallfs();
  mkdirSync(backing, { recursive: true });
  mkdirSync(mountPoint, { recursive: true });
  const control = join(tmpdir(), `reroute-stallfs-ctl-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const daemon: ChildProcess = spawn(bin, [backing, control, mountPoint], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const mounted = readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mountPoint);
    if (mounted) break;
    if (i > 100 || daemon.exitCode !== null) throw new Error(`stallfs did not mount at ${mountPoint}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const resume = () => rmSync(control, { force: true });
  return {
    stall: () => writeFileSync(control, ''),
    resume,
    setFree: (bytes) => (bytes === null ? rmSync(`${control}.free`, { force: true }) : writeFileSync(`${control}.free`, `${bytes}\n`)),
    unmount() {
      resume();
      rmSync(`${control}.free`, { force: true });
      try {
        execFileSync('fusermount3', ['-u', '-z', mountPoint], { stdio: 'ignore' });
      } catch {
        // gone already
      }
      daemon.kill('SIGKILL'); // a request still pending fails (ENOTCONN) instead of hanging its process
    },
  };
}

/** Mount a tmpfs of `size` (e.g. "1m") at `dir`; returns its unmount. */
export function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'reroute-test', dir]);
  return () => unmount(dir);
}

/** Bind `src` at `dir`, read-only; returns its unmount. */
export function mountReadOnly(src: string, dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['--bind', src, dir]);
  execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
  return () => unmount(dir);
}

/** Fill the file system of `dir` to the last byte (a file of its own there). */
export function fill(dir: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd ends with ENOSPC: the point
  }
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler-small')}`, 'bs=1k'], { stdio: 'ignore' });
  } catch {
    // the last pages
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
}
