// jest globalSetup: the namespace tests install what they need. As root with apt-get, scripts/install-deps installs
// the missing system packages (one line when it does, nothing when all are there). Elsewhere nothing is installed and
// the namespace suites skip with one loud line each (tests/support/netns.ts), except in CI, where they fail.
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = function installTestDeps() {
  const script = join(__dirname, '..', '..', 'scripts', 'install-deps');
  const r = spawnSync(script, [], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    process.stderr.write(`tests: scripts/install-deps failed (${r.error ? r.error.message : `exit ${r.status}`}); namespace tests will report what is missing\n`);
  }
};
