// Shared by the packaging scripts (scripts/build-bundle, build-vib, build-rpm): paths, commands, checksums, sizes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

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

/** A file a package adds beside the bundle (init script, firewall rules, cron wrapper...), as the host sees it. */
export interface HostFile {
  /** absolute path on the host */
  path: string;
  text: string;
  mode: number;
}

/** The bundle's version from its BUILD.json; PackError when there is no bundle or it is not this package's version. */
export function checkedBundle(bundleDir: string): { version: string; node: string } {
  const info = join(bundleDir, 'BUILD.json');
  let build: { version?: string; node?: string };
  try {
    build = JSON.parse(readFileSync(info, 'utf8')) as typeof build;
  } catch {
    throw new PackError(`${info} is missing or unreadable: build the bundle first (scripts/build-bundle)`);
  }
  if (build.version !== packageVersion()) {
    throw new PackError(`the bundle in ${bundleDir} is version ${build.version}, package.json says ${packageVersion()}: rebuild it (scripts/build-bundle)`);
  }
  return { version: build.version, node: build.node ?? 'unknown' };
}

/**
 * A temp tree laid out as on the host: the bundle under INSTALL_DIR (hard links when the filesystem allows, else a
 * copy) and `files`. Directories 0755. The caller removes `dir`.
 */
export function stageHostTree(bundleDir: string, files: HostFile[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-stage-'));
  chmodSync(dir, 0o755);
  const target = join(dir, INSTALL_DIR);
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  const linked = spawnSync('cp', ['-al', bundleDir, target], { encoding: 'utf8' });
  if (linked.status !== 0) run('cp', ['-a', bundleDir, target], `copying ${bundleDir}`);
  for (const f of files) {
    if (!f.path.startsWith('/')) throw new PackError(`host file path "${f.path}" must be absolute`);
    mkdirSync(dirname(join(dir, f.path)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, f.path), f.text, { mode: f.mode });
    chmodSync(join(dir, f.path), f.mode);
  }
  return dir;
}
