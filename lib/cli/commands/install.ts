// `reroute install [--every <seconds>] [--root dir]`: the cron lines (by default the long-lived mode, a pass a second,
// one process a minute) and, on ESXi, the boot block.
import { dirname, join, resolve } from 'node:path';
import { bootBlock, cadenceFor, countAgentLines, cronLines, withAgentLines, withBootBlock } from '../../install/crontab';
import {
  checkedPlatform,
  checkedRoot,
  existingPath,
  loopCommand,
  readText,
  restartCrond,
  targetsFor,
} from '../../install/targets';
import { configPath } from '../../config/load';
import { pathsNamedBy } from '../../config/paths';
import { writeFileAtomic } from '../../runtime/files';
import type { CommandEnv } from '../context';

/** The installed default: a pass every second, one process a minute (docs/install.md). */
export const DEFAULT_EVERY_SEC = 1;

export interface InstallOptions {
  every?: number;
  root?: string;
  platform?: string;
  node?: string;
  entry?: string;
}

// ESXi's own local.sh ends with `exit 0`; an image prepared under --root may not have one yet.
const NEW_LOCAL_SH = '#!/bin/sh\n\n# local configuration options\n\nexit 0\n';

function isSea(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

/**
 * The entry script cron passes to node when --entry is not given: the loader (dist/reroute.js) this run came through,
 * else the script running now; none for a single executable.
 */
function defaultEntry(env: CommandEnv): string | null | undefined {
  return isSea() ? null : (env.boot?.entry ?? process.argv[1]);
}

/**
 * What cron starts when --node is not given: in a bundle (scripts/build-bundle) its launcher, since there
 * process.execPath is the bundled dynamic loader; else this Node.
 */
function defaultNode(): string {
  const bundle = process.env.REROUTE_BUNDLE;
  return isSea() && bundle ? join(bundle, 'bin', 'reroute') : process.execPath;
}

/** Install (or re-install with another cadence); prints every file written. Exit 0, or throws UsageError (2). */
export async function run(opts: InstallOptions, env: CommandEnv): Promise<number> {
  const every = opts.every ?? DEFAULT_EVERY_SEC;
  const cadence = cadenceFor(every); // the cheapest check first: a bad --every is reported before any path
  const root = checkedRoot(opts.root);
  const t = targetsFor(checkedPlatform(opts.platform, root), root);
  const abs = (p: string | undefined) => (p !== undefined && root === null ? resolve(p) : p);

  const node = existingPath('node', abs(opts.node) ?? defaultNode(), root, '--node');
  const entryGiven = opts.entry !== undefined ? abs(opts.entry) : defaultEntry(env);
  const entry = entryGiven === null ? null : existingPath('the agent entry', entryGiven, root, '--entry');
  const config = existingPath('the config file', abs(configPath(env.globals.config)), root, '--config');
  // The guard lines check the runner's lock, beside the record file the config names (as the host will see it).
  const runnerLock = join(dirname(pathsNamedBy(readText(join(root ?? '/', config))).record), 'runner.lock');
  const command = loopCommand(node, entry, config, cadence.mode === 'runner' ? every : null);
  const lines = cronLines(every, command, { user: t.cronUser ?? undefined, runnerLock });

  const writes: { file: string; text: string; mode: number; what: string }[] = [];
  const say = env.display.out;
  const how = cadence.mode === 'runner' ? 'one long-lived process a minute' : 'one process a pass';
  say(`reroute install: a pass every ${every} s (${how}) on ${t.platform}${root === null ? '' : ` under ${root}`} (${lines.length} cron lines)`);

  const oldTab = readText(t.crontab.file);
  const newTab = withAgentLines(oldTab, lines);
  if (newTab === oldTab) say(`unchanged: ${t.crontab.file} already holds these lines`);
  else {
    const kept = newTab.split('\n').length - 1 - lines.length;
    writes.push({ file: t.crontab.file, text: newTab, mode: t.crontabMode, what: `${lines.length} lines (${countAgentLines(oldTab)} old ones replaced, ${kept} other lines kept)` });
  }

  if (t.bootScript && t.crond) {
    const block = bootBlock({ crontabPath: t.crontab.path, crondPidFile: t.crond.pidFile, crondStart: t.crond.start.join(' '), lines });
    const oldSh = readText(t.bootScript.file);
    const newSh = withBootBlock(oldSh === '' ? NEW_LOCAL_SH : oldSh, block, t.bootScript.file);
    if (newSh === oldSh) say(`unchanged: ${t.bootScript.file} already holds the boot block`);
    else writes.push({ file: t.bootScript.file, text: newSh, mode: 0o1755, what: `the boot block (${block.length} lines, before exit 0)` });
  }

  for (const w of writes) {
    say(`${env.globals.dryRun ? 'would write' : 'wrote'} ${w.file}: ${w.what}`);
    if (!env.globals.dryRun) writeFileAtomic(w.file, w.text, { mode: w.mode, keepMode: true });
  }
  for (const l of lines) say(`  ${l}`);

  const tabChanged = writes.some((w) => w.file === t.crontab.file);
  if (t.crond && tabChanged) {
    if (env.globals.dryRun) say(`would restart crond (${t.crond.start.join(' ')})`);
    else if (root !== null) say('crond not restarted (--root: the image\'s crond reads the crontab when it starts)');
    else for (const l of await restartCrond(t.crond)) say(l);
  }
  return 0;
}
