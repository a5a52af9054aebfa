// `reroute install [--every <seconds>] [--root dir]`: the cron lines (by default the long-lived mode, a pass a second,
// one process a minute) and, on ESXi, the boot block. Refuses (exit 2, nothing written) while the old Python agent is
// installed, unless told to replace it, and when a file of the agent lies on the NFS datastore served through the VIP
// (issue 15 case 7).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bootBlock, cadenceFor, countAgentLines, cronLines, withAgentLines, withBootBlock } from '../../install/crontab';
import { configFiles, describeOnNfs, filesOnVipNfs, type AgentFile } from '../../doctor/files-on-nfs';
import { describeOldAgent, findOldAgent, shellSyntaxError, withOldAgentCommented, type OldAgentHit } from '../../install/old-agent';
import {
  checkedPlatform,
  checkedRoot,
  existingPath,
  loopCommand,
  readText,
  restartCrond,
  targetsFor,
  underRoot,
  type Targets,
} from '../../install/targets';
import { configPath } from '../../config/load';
import { pathsNamedBy } from '../../config/paths';
import type { Platform } from '../../config/platform';
import { configDefaults } from '../../config/schema';
import { validateConfig } from '../../config/validate';
import { OldAgentError, OnNfsError, UsageError } from '../../errors';
import { writeFileAtomic } from '../../runtime/files';
import { bundleLauncher, isSingleExecutable } from '../../runtime/self-command';
import type { CommandEnv, Display } from '../context';

/** The installed default: a pass every second, one process a minute (docs/install.md). */
export const DEFAULT_EVERY_SEC = 1;

export interface InstallOptions {
  every?: number;
  root?: string;
  platform?: string;
  node?: string;
  entry?: string;
  /** comment out the old Python agent's cron lines and boot hooks instead of refusing */
  replaceOldAgent?: boolean;
}

/** The listing esxcli gives on a host with many datastores can take seconds; install is run by hand. */
const MOUNT_TABLE_TIMEOUT_MS = 10_000;

// ESXi's own local.sh ends with `exit 0`; an image prepared under --root may not have one yet.
const NEW_LOCAL_SH = '#!/bin/sh\n\n# local configuration options\n\nexit 0\n';

/**
 * The entry script cron passes to node when --entry is not given: the loader (dist/reroute.js) this run came through,
 * else the script running now; none for a single executable.
 */
function defaultEntry(env: CommandEnv): string | null | undefined {
  return isSingleExecutable() ? null : (env.boot?.entry ?? process.argv[1]);
}

/**
 * What cron starts when --node is not given: in a bundle (scripts/build-bundle) its launcher, since there
 * process.execPath is the bundled dynamic loader; else this Node.
 */
function defaultNode(): string {
  return bundleLauncher() ?? process.execPath;
}

/**
 * The config's own paths and VIP for the NFS check, read without its credentials file (under --root that names a
 * file of the booted host); a config that does not validate yet gives the defaults, and a line says so.
 */
function configured(file: string, platform: Platform, say: Display['out']): { vip: string; files: AgentFile[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    raw = undefined;
  }
  const v = validateConfig(raw, platform);
  if (!v.ok) say(`note: ${file} is not a valid config yet (reroute doctor says why): checking the default paths`);
  const c = v.ok ? v.config : configDefaults(platform);
  return { vip: c.nfsVip, files: configFiles(c) };
}

/** Refuse (OnNfsError) when an agent file is on the VIP's NFS; say so when that cannot be told. */
async function refuseFilesOnNfs(t: Targets, vip: string, files: AgentFile[], say: Display['out']): Promise<void> {
  const v = await filesOnVipNfs(files, { platform: t.platform, vip, root: t.root, timeoutMs: MOUNT_TABLE_TIMEOUT_MS });
  if (!v.ok) say(`note: could not check whether the agent's files are on the NFS datastore: ${v.reason}`);
  else if (v.onVip.length > 0) throw new OnNfsError(v.onVip.map(describeOnNfs).join('; '), vip);
}

/**
 * The texts of the files holding the old agent, with its lines commented out. A boot hook that would no longer parse
 * (`sh -n`) is refused rather than written: it would stop at boot before the reroute block.
 */
async function oldAgentCommented(hits: OldAgentHit[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const h of hits) {
    const old = readText(h.place.file);
    const text = withOldAgentCommented(old, h.lines.map((l) => l.line), h.place.shell);
    const where = `${h.place.file} line ${h.lines.map((l) => l.line).join(', ')}`;
    if (text === null) throw new UsageError(`${where}: the old agent's line is continued over several lines: comment it out by hand, then rerun`);
    if (h.place.shell && (await shellSyntaxError(old)) === null) {
      const broken = await shellSyntaxError(text);
      if (broken !== null) throw new UsageError(`${where}: commenting out the old agent would leave the script unparseable (${broken}): edit it by hand, then rerun`);
    }
    texts.set(h.place.file, text);
  }
  return texts;
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
  const config = existingPath('the config file', abs(configPath(env.globals.config, () => t.platform)), root, '--config');
  // The guard line checks the runner's lock, beside the record file the config names (as the host will see it).
  const runnerLock = join(dirname(pathsNamedBy(readText(join(root ?? '/', config)), t.platform).record), 'runner.lock');
  const command = loopCommand(node, entry, config, cadence.mode === 'runner' ? every : null);
  const lines = cronLines(every, command, { user: t.cronUser ?? undefined, runnerLock });

  const say = env.display.out;
  const how = cadence.mode === 'runner' ? 'one long-lived process a minute' : 'one process a pass';
  say(`reroute install: a pass every ${every} s (${how}) on ${t.platform}${root === null ? '' : ` under ${root}`} (${lines.length} cron lines)`);
  const oldAgent = findOldAgent(t);
  if (oldAgent.length > 0 && !opts.replaceOldAgent) throw new OldAgentError(describeOldAgent(oldAgent));
  const replaced = await oldAgentCommented(oldAgent);
  const own = configured(underRoot(root, config), t.platform, say);
  const program = [{ what: '--node', path: node }, ...(entry === null ? [] : [{ what: '--entry', path: entry }])];
  await refuseFilesOnNfs(t, own.vip, [...program, { what: '--config', path: config }, ...own.files], say);

  const writes: { file: string; text: string; mode: number; what: string }[] = [];
  for (const h of oldAgent) {
    for (const l of h.lines) say(`${env.globals.dryRun ? 'would comment out' : 'commenting out'} the old agent in ${h.place.file} line ${l.line}: ${l.text.trim()}`);
  }
  // A file's text with the old agent's lines commented out, else as it is on disk.
  const current = (file: string) => replaced.get(file) ?? readText(file);
  const oldAgentWhat = (file: string) => (replaced.has(file) ? `; the old agent commented out` : '');

  const oldTab = current(t.crontab.file);
  const newTab = withAgentLines(oldTab, lines);
  if (newTab === readText(t.crontab.file)) say(`unchanged: ${t.crontab.file} already holds these lines`);
  else {
    const kept = newTab.split('\n').length - 1 - lines.length;
    writes.push({ file: t.crontab.file, text: newTab, mode: t.crontabMode, what: `${lines.length} lines (${countAgentLines(oldTab)} old ones replaced, ${kept} other lines kept${oldAgentWhat(t.crontab.file)})` });
  }

  if (t.bootScript && t.crond) {
    const block = bootBlock({ crontabPath: t.crontab.path, crondPidFile: t.crond.pidFile, crondStart: t.crond.start.join(' '), lines });
    const oldSh = current(t.bootScript.file);
    const newSh = withBootBlock(oldSh === '' ? NEW_LOCAL_SH : oldSh, block, t.bootScript.file);
    if (newSh === readText(t.bootScript.file)) say(`unchanged: ${t.bootScript.file} already holds the boot block`);
    else writes.push({ file: t.bootScript.file, text: newSh, mode: 0o1755, what: `the boot block (${block.length} lines, before exit 0${oldAgentWhat(t.bootScript.file)})` });
  }
  for (const [file, text] of replaced) {
    if (file !== t.crontab.file && file !== t.bootScript?.file) writes.push({ file, text, mode: 0o644, what: 'the old agent commented out' });
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
