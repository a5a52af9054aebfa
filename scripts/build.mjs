#!/usr/bin/env node
// Build dist/: main.js is the whole CLI in one file (esbuild); reroute.js is the small loader cron runs, which
// compiles main.js through a V8 code cache (lib/boot). The raw-socket native addon stays a runtime require.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { constants as http2Constants } from 'node:http2';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
};
// Node modules that libraries load at once but a pass never uses; each brings megabytes of RSS into every pass:
// - undici's HTTP/2 client loads node:http2, and with it TLS and OpenSSL (about 3 MB), though a pass speaks HTTP/1.1
//   (allowH2 stays off): it gets http2's constants, read from the real module here at build time, and a connect()
//   that loads the real module if it is ever called;
// - winston's file transport loads node:zlib for gzipped archives, which the agent does not ask for: it gets a proxy
//   that loads zlib on first use;
// - commander loads node:child_process (2 ms before the sweep can start) for executable subcommands, which the CLI
//   does not have: a proxy too (the agent's own commands load it when they run one);
// - signal-exit (under proper-lockfile, so before the sweep) loads node:assert (1.3 ms) for one assert.equal on its
//   argument: that equal loads the real assert only to report a failure;
// - raw-socket loads node:net (1.5 ms, right before the first echo) for net.isIP in its send(), which the prober
//   bypasses (it sends through the native handle): a proxy.
const lazyProxy = (name) =>
  `let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:${name}'))[key] });`;
const LAZY_BUILTINS = {
  http2: {
    inside: 'undici',
    contents:
      `module.exports = { constants: ${JSON.stringify(http2Constants)}, ` +
      `connect: (...args) => require('node:http2').connect(...args) };`,
  },
  zlib: { inside: 'winston', contents: lazyProxy('zlib') },
  child_process: { inside: 'commander', contents: lazyProxy('child_process') },
  net: { inside: 'raw-socket', contents: lazyProxy('net') },
  assert: {
    inside: 'signal-exit',
    contents:
      `let real; const load = () => (real ??= require('node:assert'));\n` +
      `module.exports = new Proxy({}, { get: (_, key) => key === 'equal'\n` +
      `  ? (actual, expected, message) => { if (actual != expected) load().equal(actual, expected, message); }\n` +
      `  : load()[key] });`,
  },
};
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(http2|zlib|child_process|assert|net)$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      const inside = new RegExp(`[\\\\/]node_modules[\\\\/]${LAZY_BUILTINS[name].inside}[\\\\/]`);
      return inside.test(args.importer) ? { path: name, namespace: 'lazy-builtin' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ loader: 'js', contents: LAZY_BUILTINS[args.path].contents }));
  },
};

// raw-socket's JS is bundled (so its compiled code is in the code cache); its native addon cannot be: it is loaded
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

// Both bundles: raw-socket and the lazy built-ins handled alike; every pass reads and compiles them, so no comments or
// indentation (main.js: 1.3 -> 0.8 MB). Names are kept, so an internal error's stack still says which function failed.
const passBundle = {
  ...common,
  plugins: [lazyBuiltins, rawSocketAddon],
  minifyWhitespace: true,
  minifySyntax: true,
};

await build({
  ...passBundle,
  entryPoints: ['lib/cli/main.ts'],
  outfile: 'dist/main.js',
  // proper-lockfile loads graceful-fs, which rebuilds the whole fs module at load (about 4 ms of every pass) to queue
  // on EMFILE and retry Windows EPERM; one lock per short-lived process needs neither: it gets the plain fs.
  alias: { 'graceful-fs': 'node:fs' },
  define: {
    // Only @dabh/diagnostics (winston's internal debug output, printed when DEBUG names it) reads NODE_ENV; its
    // development build loads node:tty and a colour library into every pass.
    'process.env.NODE_ENV': '"production"',
    __REROUTE_VERSION__: JSON.stringify(pkg.version),
    __REROUTE_BUILD_TIME__: JSON.stringify(new Date().toISOString()),
  },
});
// The loader holds the prober too: it starts `loop`'s sweep before main.js is loaded.
await build({
  ...passBundle,
  entryPoints: ['lib/boot/start.ts'],
  outfile: 'dist/reroute.js',
  define: { __REROUTE_LOADER__: 'true' },
});
// A new bundle makes the old cache stale (the loader would ignore it anyway); start clean.
rmSync(new URL('../dist/main.js.cache', import.meta.url), { force: true });

// The native addon cannot be bundled: ship raw-socket (its JS and raw.node) beside the bundle so dist/ stands alone.
const from = new URL('../node_modules/raw-socket/', import.meta.url);
const to = new URL('../dist/node_modules/raw-socket/', import.meta.url);
mkdirSync(new URL('build/Release/', to), { recursive: true });
for (const f of ['index.js', 'package.json', 'build/Release/raw.node']) cpSync(new URL(f, from), new URL(f, to));
