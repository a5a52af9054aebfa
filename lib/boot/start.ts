// dist/reroute.js, what cron and bin/reroute run: tune V8, load the CLI bundle (dist/main.js) through its code cache,
// run the command. After the first completed pass the cache is written, and later runs start from it.
import { join } from 'node:path';
import { tuneV8ForShortRun } from '../runtime/v8-flags';
import { loadBundle, type LoadedBundle } from './code-cache';
import type { BootHooks } from './hooks';

// V8 keys a code cache to its flags: set them before the bundle is compiled, and identically every run.
tuneV8ForShortRun();

const bundleFile = join(__dirname, 'main.js');
let loaded: LoadedBundle;
try {
  loaded = loadBundle(bundleFile, `${bundleFile}.cache`);
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
    // Only a completed pass has compiled what the next runs need; a cache from `version` would hold little.
    if (code === 0 && passDone) loaded.saveCache();
  });
}
const hooks: BootHooks = {
  codeCache: loaded.cache,
  entry: __filename,
  passDone: () => {
    passDone = true;
  },
};
(loaded.exports.main as (argv: string[], hooks: BootHooks) => Promise<void>)(process.argv, hooks);
