// Shared by the packaging scripts (scripts/build-bundle, build-vib, build-rpm): paths, commands, checksums, sizes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The repository root (two levels up, from the sources and from their bundle in .tmp/scripts/ alike). */
export const ROOT = join(__dirname, '..', '..');

/** Where the bundle is built and where the VIB and the RPM take it from. */
export const DEFAULT_BUNDLE_DIR = join(ROOT, 'dist', 'bundle');

/** Where the bundle is installed on a host, by the VIB and by the RPM alike. */
export const INSTALL_DIR = '/opt/reroute';

/** A packaging step that cannot go on; the script prints its message as one line and exits 2. */
export class PackError extends Error {}

/** The package version (package.json), which `reroute version` prints too. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Run a command; its stdout, or PackError naming `what` with the last lines of its output. */
export function run(cmd: string, args: string[], what: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new PackError(`${what}: cannot run ${cmd} (${r.error.message})`);
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-6).join(' | ');
    throw new PackError(`${what} failed (${cmd} ${args.join(' ')}, exit ${r.status ?? r.signal}): ${tail}`);
  }
  return r.stdout;
}

/** Whether a command can be run (`cmd --version` exits 0). */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Hex digest of a file, read in chunks (the executable is over 100 MB). */
export function fileDigest(file: string, algorithm: 'sha256' | 'sha1'): string {
  const hash = createHash(algorithm);
  const buf = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Hex digest of bytes in memory. */
export function digest(data: Buffer | string, algorithm: 'sha256' | 'sha1'): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** One file or directory of a tree, with its path relative to the tree's root ('/'-separated, no leading '/'). */
export interface TreeEntry {
  rel: string;
  abs: string;
  dir: boolean;
  size: number;
  mode: number;
}

/** Every directory and file under `root`, parents before children, names sorted; symlinks are refused. */
export function walkTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      const rel = relative(root, abs).split('\\').join('/');
      if (st.isSymbolicLink()) throw new PackError(`${abs} is a symlink: the bundle holds plain files only`);
      out.push({ rel, abs, dir: st.isDirectory(), size: st.isDirectory() ? 0 : st.size, mode: st.mode & 0o7777 });
      if (st.isDirectory()) visit(abs);
    }
  };
  visit(root);
  return out;
}

/** Megabytes with one decimal. */
export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Run a packaging script's main: print PackError as one line and exit 2; anything else is a bug and keeps its stack. */
export async function scriptMain(name: string, fn: () => Promise<void> | void): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (!(e instanceof PackError)) throw e;
    process.stderr.write(`${name}: ${e.message}\n`);
    return 2;
  }
}
