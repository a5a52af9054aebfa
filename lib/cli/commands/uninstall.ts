// `reroute uninstall [--root dir] [--restore-old-agent]`: remove exactly the agent's cron lines and boot block; with
// --restore-old-agent also put back the Python agent's lines that `install --replace-old-agent` commented out, so the
// host is as install found it. Nothing else.
import { countAgentLines, hasBootBlock, withoutAgentLines, withoutBootBlock } from '../../install/crontab';
import { findReplacedOldAgent, withOldAgentRestored } from '../../install/old-agent';
import { checkedPlatform, checkedRoot, readText, removeFile, restartCrond, targetsFor } from '../../install/targets';
import { writeFileAtomic } from '../../runtime/files';
import type { CommandEnv } from '../context';

export interface UninstallOptions {
  root?: string;
  platform?: string;
  restoreOldAgent?: boolean;
}

/** Uninstall; prints what was removed. Running it again changes nothing. Exit 0, or throws UsageError (2). */
export async function run(opts: UninstallOptions, env: CommandEnv): Promise<number> {
  const root = checkedRoot(opts.root);
  const t = targetsFor(checkedPlatform(opts.platform, root), root);
  const say = env.display.out;
  const dry = env.globals.dryRun;
  const done = (what: string) => `${dry ? 'would ' : ''}${what}`;
  say(`reroute uninstall on ${t.platform}${root === null ? '' : ` under ${root}`}`);

  // the old agent's lines to put back, by file; our own files are written once, with both edits
  const restore = new Map<string, { mode: number; lines: string[] }>();
  if (opts.restoreOldAgent) {
    const hits = findReplacedOldAgent(t);
    if (hits.length === 0) say('no line of the old agent to restore (install --replace-old-agent commented none out)');
    for (const h of hits) {
      restore.set(h.place.file, { mode: h.place.shell ? 0o755 : 0o644, lines: h.lines.map((l) => `${h.place.file} line ${l.line}: ${l.text.trim()}`) });
    }
  }
  const restored = (file: string, text: string) => (restore.has(file) ? withOldAgentRestored(text) : text);
  const sayRestored = (file: string) => {
    for (const l of restore.get(file)?.lines ?? []) say(done(`${dry ? 'restore' : 'restored'} the old agent in ${l}`));
    restore.delete(file);
  };

  const oldTab = readText(t.crontab.file);
  const n = countAgentLines(oldTab);
  const newTab = restored(t.crontab.file, withoutAgentLines(oldTab));
  if (n === 0 && newTab === oldTab) say(`nothing to remove in ${t.crontab.file}`);
  else if (t.ownsCrontab && newTab.trim() === '') {
    say(done(`${dry ? 'remove' : 'removed'} ${t.crontab.file} (${n} reroute lines, nothing else)`));
    if (!dry) removeFile(t.crontab.file);
  } else {
    if (n > 0) say(done(`${dry ? 'remove' : 'removed'} ${n} reroute lines from ${t.crontab.file} (other lines kept)`));
    sayRestored(t.crontab.file);
    if (!dry) writeFileAtomic(t.crontab.file, newTab, { mode: t.crontabMode, keepMode: true });
  }

  if (t.bootScript) {
    const oldSh = readText(t.bootScript.file);
    const block = hasBootBlock(oldSh, t.bootScript.file);
    const newSh = restored(t.bootScript.file, block ? withoutBootBlock(oldSh, t.bootScript.file) : oldSh);
    if (newSh === oldSh) say(`nothing to remove in ${t.bootScript.file}`);
    else {
      if (block) say(done(`${dry ? 'remove' : 'removed'} the reroute boot block from ${t.bootScript.file}`));
      sayRestored(t.bootScript.file);
      if (!dry) writeFileAtomic(t.bootScript.file, newSh, { mode: 0o1755, keepMode: true });
    }
  }

  for (const [file, r] of [...restore]) {
    sayRestored(file);
    if (!dry) writeFileAtomic(file, withOldAgentRestored(readText(file)), { mode: r.mode, keepMode: true });
  }

  if (t.crond && newTab !== oldTab) {
    if (dry) say(`would restart crond (${t.crond.start.join(' ')})`);
    else if (root !== null) say('crond not restarted (--root: the image\'s crond reads the crontab when it starts)');
    else for (const l of await restartCrond(t.crond)) say(l);
  }
  return 0;
}
