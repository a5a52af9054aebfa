#!/usr/bin/env node
// Bundle the CLI into dist/reroute.js (one file); the raw-socket native addon stays a runtime require.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';

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

// The native addon cannot be bundled: ship raw-socket (its JS and raw.node) beside the bundle so dist/ stands alone.
const from = new URL('../node_modules/raw-socket/', import.meta.url);
const to = new URL('../dist/node_modules/raw-socket/', import.meta.url);
mkdirSync(new URL('build/Release/', to), { recursive: true });
for (const f of ['index.js', 'package.json', 'build/Release/raw.node']) cpSync(new URL(f, from), new URL(f, to));
