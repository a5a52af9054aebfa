#!/usr/bin/env node
'use strict';
// Test wrapper around a real command (`ip -n <ns> ...`): records each invocation to $IP_WRAPPER_LOG and, when
// $IP_WRAPPER_IGNORE names a word of the argv (e.g. "replace"), exits 0 without running it (a change that "did not take").
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const argv = process.argv.slice(2);
if (process.env.IP_WRAPPER_LOG) fs.appendFileSync(process.env.IP_WRAPPER_LOG, JSON.stringify(argv) + '\n');
if (process.env.IP_WRAPPER_IGNORE && argv.includes(process.env.IP_WRAPPER_IGNORE)) process.exit(0);
const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
