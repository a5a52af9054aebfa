// dist/reroute.js, what cron and bin/reroute run: tune V8, keep V8's compiled code of the bundle between runs, load
// the CLI bundle (dist/main.js) and run the command.
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { tuneV8ForShortRun } from '../runtime/v8-flags';
import type { BootHooks } from './hooks';

/**
 * Load the bundle and run the command. Errors before the CLI is loaded (an old Node, a missing bundle) are one line
 * and exit code 2, set here without process.exit: the CLI's exit path (lib/cli/exit.ts) is the only one, and nothing
 * else runs in this process yet.
 */
function start(): void {
  // libuv's threadpool runs the agent's file operations; one given up on a hung disk parks its thread until the disk
  // answers (docs/state.md, "Nothing on failover's path waits on disk I/O"): at most one per directory, so 16 threads
  // (the default 4, read at its first use) leave the rest of the pass its threads. They cost a few KB of RSS each.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  // a host's or a shell's older Node (say, a system Node 20 before the project's own on the PATH): one clear line
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < 24) {
    process.stderr.write(
      `reroute: Node ${process.version} cannot run it; it needs Node 24: run it with the Node it ships ` +
        '(the bundle\'s node, or node_modules/.bin/node after npm ci)\n',
    );
    process.exitCode = 2;
    return;
  }

  // V8 checks a compiled-code cache against its flags: set them first, and identically every run.
  tuneV8ForShortRun();
  // Node's module compile cache (Node 22+), beside the bundle: a run compiles only what the cache lacks, and Node writes
  // it back at exit. Where that directory cannot be written the agent simply runs without it.
  enableCompileCache(join(__dirname, '.cache'));

  const bundleFile = join(__dirname, 'main.js');
  let main: (argv: string[], hooks: BootHooks) => Promise<void>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ main } = require(bundleFile) as { main: typeof main });
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    process.stderr.write(
      missing
        ? `reroute: ${bundleFile} is missing: run "npm run build" (npm ci does it too)\n`
        : `reroute: cannot load ${bundleFile}: ${(e as Error).message}\n`,
    );
    process.exitCode = 2;
    return;
  }
  void main(process.argv, { entry: __filename });
}

start();
