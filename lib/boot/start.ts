// dist/reroute.js, what cron and bin/reroute run: start `loop`'s sweep, tune V8, load the CLI bundle (dist/main.js)
// through its code cache, run the command. After the first completed pass the cache is written, and later passes start from it.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tuneV8ForShortRun } from '../runtime/v8-flags';
import { loadBundle, type LoadedBundle, type LoadMarks } from './code-cache';
import { startEarlySweep } from './early-sweep';
import type { BootHooks } from '../cli/context';

// A pass's few async fs calls (lock, log, the state's directory fsync) need no pool of 4 threads: each thread is
// started, then joined at exit (about 1 ms a pass). Two, so one stuck call does not hold up the other; the pass
// deadline runs on the main thread either way. Read by libuv at its first use of the pool, so set it first.
process.env.UV_THREADPOOL_SIZE ??= '2';

const marks: LoadMarks = [['loader started', performance.now()]];
// `loop` only: the first echoes go out now, before anything else is loaded, and the bundle loads while they travel.
const started = startEarlySweep(process.argv.slice(2), marks);
marks.push([started.early ? 'early sweep started' : `no early sweep (${started.why})`, performance.now()]);

// V8 keys a code cache to its flags: set them before the bundle is compiled, and identically every run.
tuneV8ForShortRun();

const bundleFile = join(__dirname, 'main.js');
let loaded: LoadedBundle;
try {
  loaded = loadBundle(bundleFile, `${bundleFile}.cache`, marks);
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  process.stderr.write(
    code === 'ENOENT'
      ? `reroute: ${bundleFile} is missing: run "npm run build" (npm ci does it too)\n`
      : `reroute: cannot load ${bundleFile}: ${(e as Error).message}\n`,
  );
  process.exit(2);
}

let passDone = false;
if (loaded.cache !== 'used') {
  process.on('exit', (code) => {
    // Only a completed pass has compiled what the next passes need; a cache from `version` would hold little.
    if (code === 0 && passDone) loaded.saveCache();
  });
}
const hooks: BootHooks = {
  codeCache: loaded.cache,
  entry: __filename,
  marks: loaded.marks,
  earlySweep: started.early,
  passDone: () => {
    passDone = true;
  },
};
(loaded.exports.main as (argv: string[], hooks: BootHooks) => Promise<void>)(process.argv, hooks);
