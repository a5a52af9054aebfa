#!/usr/bin/env node
// Bundle the CLI into dist/reroute.js (one file); the raw-socket native addon stays a runtime require.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: ['lib/cli/main.ts'],
  outfile: 'dist/reroute.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['raw-socket'],
  define: {
    __REROUTE_VERSION__: JSON.stringify(pkg.version),
    __REROUTE_BUILD_TIME__: JSON.stringify(new Date().toISOString()),
  },
  logLevel: 'warning',
  legalComments: 'none',
});
