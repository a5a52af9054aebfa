#!/usr/bin/env node
// Build dist/: main.js is the whole CLI in one file (esbuild); reroute.js is the small loader cron runs, which loads
// main.js with Node's compile cache (lib/boot). The raw-socket native addon stays a runtime require.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
};
// raw-socket's JS is bundled (so its compiled code is in the compile cache); its native addon cannot be: it is loaded
// at run time from dist/node_modules/raw-socket/, the copy shipped below.
const rawSocketAddon = {
  name: 'raw-socket-addon',
  setup(b) {
    b.onResolve({ filter: /^\.\/build\/Release\/raw\.node$/ }, () => ({
      path: './node_modules/raw-socket/build/Release/raw.node',
      external: true,
    }));
  },
};

// Every run reads and compiles the bundle, so no comments or indentation (main.js: 1.3 -> 0.8 MB). Names are kept, so
// an internal error's stack still says which function failed.
const passBundle = {
  ...common,
  plugins: [rawSocketAddon],
  minifyWhitespace: true,
  minifySyntax: true,
};

await build({
  ...passBundle,
  entryPoints: ['lib/cli/main.ts'],
  outfile: 'dist/main.js',
  define: {
    // Only @dabh/diagnostics (winston's internal debug output, printed when DEBUG names it) reads NODE_ENV; its
    // development build loads node:tty and a colour library into every pass.
    'process.env.NODE_ENV': '"production"',
    __REROUTE_VERSION__: JSON.stringify(pkg.version),
    __REROUTE_BUILD_TIME__: JSON.stringify(new Date().toISOString()),
    // the runbook, for `reroute help <topic>` on hosts that have no docs/ (lib/cli/help/runbook.ts)
    __REROUTE_RUNBOOK__: JSON.stringify(readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8')),
  },
});
await build({
  ...passBundle,
  entryPoints: ['lib/boot/start.ts'],
  outfile: 'dist/reroute.js',
});
// A new bundle makes the old compile cache stale (Node would not use it); start clean.
rmSync(new URL('../dist/.cache', import.meta.url), { recursive: true, force: true });

// The native addon cannot be bundled: ship raw-socket (its JS and raw.node) beside the bundle so dist/ stands alone.
const from = new URL('../node_modules/raw-socket/', import.meta.url);
const to = new URL('../dist/node_modules/raw-socket/', import.meta.url);
mkdirSync(new URL('build/Release/', to), { recursive: true });
for (const f of ['index.js', 'package.json', 'build/Release/raw.node']) cpSync(new URL(f, from), new URL(f, to));
