// The cron lines `reroute install` writes are there, run a program that exists with this config, and crond runs.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { runFiles } from '../state/run-files';
import { isAgentLine } from '../install/crontab';
import { crondStatus } from '../install/crond';
import { readText, underRoot } from '../install/targets';
import { fail, ok, warn, type Check } from './types';

/**
 * The program a cron line of ours starts, unquoted (targets.ts loopCommand quotes): the first word after the schedule,
 * the user field (/etc/crontab), the offset's `sleep k;` and the guard of the long-lived mode (crontab.ts cronLines).
 */
export function cronProgram(line: string, user: string | null = null): string | null {
  let rest = line.replace(/^\s*(\S+\s+){5}/, '');
  if (user !== null && rest.startsWith(`${user} `)) rest = rest.slice(user.length + 1);
  rest = rest.replace(/^sleep \d+; /, '').replace(/^\(for s in [\d ]+; do sleep \d+; /, '');
  // a guard line's test, then `||` the command: today's (issue 32: builtins but readlink), issue 26's (readlink, sed,
  // kill -0, the start time by cut), and the one before
  for (const [starts, ends] of [['set -f; IFS=', '; }; } || '], ['set -- $(', '; } || '], ['p=$(', ' || ']] as const) {
    const guardEnd = rest.indexOf(ends);
    if (rest.startsWith(starts) && guardEnd >= 0) rest = rest.slice(guardEnd + ends.length);
  }
  const m = /^('(?:[^']|'\\'')*'|[^\s;|&]+)/.exec(rest);
  if (!m) return null;
  const word = m[1]!;
  return word.startsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word;
}

/** The runner lock a guard line of ours checks (its `readlink <path>`), or null for a line without one. */
export function guardLockOf(line: string): string | null {
  return /\breadlink (\/\S+) 2>\/dev\/null/.exec(line)?.[1] ?? null;
}

export const cronCheck: Check = {
  id: 'cron',
  title: 'cron lines and crond',
  deadlineMs: () => 3000,
  async run(ctx) {
    const t = ctx.targets;
    const install = `reroute --config ${ctx.configPath} install`;
    const ours = readText(t.crontab.file).split('\n').filter(isAgentLine);
    if (ours.length === 0) return fail(`no reroute line in ${t.crontab.file}`, `run ${install} (docs/install.md)`);
    const program = cronProgram(ours[0]!, t.cronUser);
    if (program === null || !existsSync(underRoot(ctx.root, program))) {
      return fail(`${ours.length} lines in ${t.crontab.file}, but they run ${program ?? 'nothing that can be read'}, which is not there`, `run ${install} again`);
    }
    const lines = `${ours.length} lines in ${t.crontab.file} (${program})`;
    const crond = crondStatus(t);
    if (!crond.running) {
      const start = t.crond ? t.crond.start.join(' ') : 'systemctl start crond (cron on Debian)';
      return fail(`${lines}, but crond is not running: ${crond.how}`, `start it: ${start}`);
    }
    // issue 27: paths changed in the config without `install` again: the guards check a lock no runner takes, and
    // start a runner every few seconds (each one leaves at once, lib/pass/runner.ts, but a Node start each time)
    const runnerLock = ctx.config ? runFiles(dirname(ctx.config.paths.record)).runnerLock : null;
    const guardLock = ours.map(guardLockOf).find((p) => p !== null) ?? null;
    if (runnerLock !== null && guardLock !== null && guardLock !== runnerLock) {
      return fail(
        `${lines}: the guard line checks the runner lock ${guardLock}, but the config puts it at ${runnerLock} (paths.record moved)`,
        `run ${install} again`,
      );
    }
    if (!ours.every((l) => l.includes(ctx.configPath))) {
      return warn(`${lines} run the agent with another config than ${ctx.configPath}; crond running (${crond.how})`, `check that config, or run ${install}`);
    }
    return ok(`${lines}; crond running (${crond.how})`);
  },
};
