// jest globalTeardown: remove the run's temporary directory (global-setup.js). A test that failed may have left a
// mount inside it (tmpfs, a bind mount, stallfs): each is detached first (lazily: a FUSE mount may hang), so removing
// the directory never reaches into what was mounted. Then the run fails if it left anything of ours in the system's
// temporary directory: everything a test makes belongs under TMPDIR.
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, readFileSync, rmSync } = require('node:fs');

/** Mount points under `dir`, deepest first (/proc/self/mounts escapes spaces as \040). */
function mountsUnder(dir) {
  let text;
  try {
    text = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => (l.split(' ')[1] || '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

module.exports = function tearDown() {
  const dir = process.env.TMPDIR;
  const system = process.env.REROUTE_TEST_SYSTEM_TMPDIR;
  if (!dir || !system || !dir.startsWith(`${system}/reroute-jest-`)) return;
  for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`tests: ${dir} still has mounts; left in place\n`);
  const before = new Set(JSON.parse(process.env.REROUTE_TEST_TMPDIR_BEFORE || '[]'));
  // another jest run's directory (a run in another checkout at the same time) is that run's to remove
  const left = readdirSync(system).filter((n) => !before.has(n) && /^(reroute|zbs)-/.test(n) && !n.startsWith('reroute-jest-'));
  if (left.length) throw new Error(`tests left ${left.length} entries in ${system}: ${left.slice(0, 10).join(', ')}: make them under os.tmpdir() (TMPDIR)`);
};
