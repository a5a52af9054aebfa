// `reroute uninstall [--root dir]`: remove exactly the agent's cron lines and boot block; nothing else.
import { countAgentLines, hasBootBlock, withoutAgentLines, withoutBootBlock } from '../../install/crontab';
import { checkedPlatform, checkedRoot, readText, removeFile, restartCrond, targetsFor } from '../../install/targets';
import { writeFileAtomic } from '../../runtime/files';
import type { CommandEnv } from '../context';

export interface UninstallOptions {
  root?: string;
  platform?: string;
}

/** Uninstall; prints what was removed. Running it again changes nothing. Exit 0, or throws UsageError (2). */
export async function run(opts: UninstallOptions, env: CommandEnv): Promise<number> {
  const root = checkedRoot(opts.root);
  const t = targetsFor(checkedPlatform(opts.platform, root), root);
  const say = env.display.out;
  const dry = env.globals.dryRun;
  say(`reroute uninstall on ${t.platform}${root === null ? '' : ` under ${root}`}`);

  const oldTab = readText(t.crontab.file);
  const n = countAgentLines(oldTab);
  const newTab = withoutAgentLines(oldTab);
  if (n === 0) say(`nothing to remove in ${t.crontab.file}`);
  else if (t.ownsCrontab && newTab.trim() === '') {
    say(`${dry ? 'would remove' : 'removed'} ${t.crontab.file} (${n} reroute lines, nothing else)`);
    if (!dry) removeFile(t.crontab.file);
  } else {
    say(`${dry ? 'would remove' : 'removed'} ${n} reroute lines from ${t.crontab.file} (other lines kept)`);
    if (!dry) writeFileAtomic(t.crontab.file, newTab, { mode: t.crontabMode, keepMode: true });
  }

  if (t.bootScript) {
    const oldSh = readText(t.bootScript.file);
    if (!hasBootBlock(oldSh, t.bootScript.file)) say(`nothing to remove in ${t.bootScript.file}`);
    else {
      say(`${dry ? 'would remove' : 'removed'} the reroute boot block from ${t.bootScript.file}`);
      if (!dry) writeFileAtomic(t.bootScript.file, withoutBootBlock(oldSh, t.bootScript.file), { mode: 0o1755, keepMode: true });
    }
  }

  if (t.crond && n > 0) {
    if (dry) say(`would restart crond (${t.crond.start.join(' ')})`);
    else if (root !== null) say('crond not restarted (--root: the image\'s crond reads the crontab when it starts)');
    else for (const l of await restartCrond(t.crond)) say(l);
  }
  return 0;
}
