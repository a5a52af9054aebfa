// jest globalSetup: the namespace tests install what they need. As root with apt-get, scripts/install-deps installs
// the missing system packages (one line when it does, nothing when all are there). Elsewhere nothing is installed and
// the namespace suites skip with one loud line each (tests/support/netns.ts), except in CI, where they fail.
// Then one temporary directory for the whole run: TMPDIR points there for every worker and every process the tests
// start, and global-teardown.js removes it, so a run leaves nothing in the system's temporary directory.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = function setUp() {
  const script = join(__dirname, '..', '..', 'scripts', 'install-deps');
  const r = spawnSync(script, [], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    process.stderr.write(`tests: scripts/install-deps failed (${r.error ? r.error.message : `exit ${r.status}`}); namespace tests will report what is missing\n`);
  }
  const system = tmpdir();
  process.env.REROUTE_TEST_SYSTEM_TMPDIR = system;
  process.env.REROUTE_TEST_TMPDIR_BEFORE = JSON.stringify(readdirSync(system));
  process.env.TMPDIR = mkdtempSync(join(system, 'reroute-jest-'));
};
