// How this agent starts itself again. In the bundle (scripts/build-bundle) the Node single executable runs through
// the bundled dynamic loader, so process.execPath and process.argv[0] are the loader, and argv[1] repeats it: a
// process started from them runs the loader with the loader as its program, not the agent. The bundle's launcher
// (bin/reroute, named from REROUTE_BUNDLE) is the one way in: it adds the loader's options, the shim and the V8 switch.
import { join } from 'node:path';

/** Whether this process is the Node single executable of the bundle. */
export function isSingleExecutable(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

/** The bundle's launcher (what cron runs), when this process is the bundle's executable started through it. */
export function bundleLauncher(env: NodeJS.ProcessEnv = process.env, sea = isSingleExecutable()): string | null {
  const bundle = env.REROUTE_BUNDLE;
  return sea && bundle ? join(bundle, 'bin', 'reroute') : null;
}

/** What starts this process again with the same arguments: [file, args] for spawn. */
export function selfCommand(
  proc: { argv: string[]; execPath: string; env: NodeJS.ProcessEnv } = process,
  sea = isSingleExecutable(),
): [string, string[]] {
  if (sea) {
    const launcher = bundleLauncher(proc.env, sea);
    // argv[0] and argv[1] are both the executable in a single executable; the agent's own arguments follow
    if (launcher === null) throw new Error('REROUTE_BUNDLE is not set: the single executable was not started through its launcher');
    return [launcher, proc.argv.slice(2)];
  }
  // node <script> <args>: the same Node, the same script (the loader, dist/reroute.js, or bin/reroute)
  return [proc.execPath, proc.argv.slice(1)];
}
