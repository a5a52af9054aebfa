// `reroute doctor [--json] [--root dir]`: the field check of a host, one line per check (ok, warn or FAIL, with the
// fix). Works without a config: the config line fails and the checks that can run without one still run.
// Exit 0 when no check fails, 1 when any does.
import { VERSION } from '../../build-info';
import { configPath } from '../../config/load';
import { doctorContext, runChecks, type Finding, type Status } from '../../doctor';
import { processMemory } from '../../doctor/runtime';
import { checkedRoot } from '../../install/targets';
import { verboseLog, type CommandEnv } from '../context';

const LABEL: Record<Status, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

/** One finding as one line: "FAIL  cron lines and crond: ...; fix: ...". */
export function formatFinding(f: Finding): string {
  return `${LABEL[f.status].padEnd(4)}  ${f.title}: ${f.detail}${f.fix ? `; fix: ${f.fix}` : ''}`;
}

export async function run(opts: { json: boolean; root?: string }, env: CommandEnv): Promise<number> {
  const root = checkedRoot(opts.root);
  const ctx = doctorContext({ configPath: configPath(env.globals.config), root, log: verboseLog(env) });
  const say = env.display.out;
  if (!opts.json) say(`reroute ${VERSION} doctor: ${ctx.platform} host, config ${ctx.configPath}${root === null ? '' : `, cron and boot files under ${root}`}`);
  const findings: Finding[] = [];
  for await (const f of runChecks(ctx)) {
    findings.push(f);
    if (!opts.json) say(formatFinding(f));
  }
  const count = (s: Status) => findings.filter((f) => f.status === s).length;
  const summary = { ok: count('ok'), warn: count('warn'), fail: count('fail') };
  if (opts.json) {
    const checks = findings.map((f) => ({ id: f.id, title: f.title, status: f.status, detail: f.detail, fix: f.fix ?? null }));
    // measured after every check ran (the API check loads the HTTP client): what the agent's process reserves
    const memory = processMemory();
    say(JSON.stringify({ version: VERSION, platform: ctx.platform, config: ctx.configPath, root, checks, summary, process: memory }, null, 2));
  } else {
    say(`doctor: ${summary.ok} ok, ${summary.warn} warn, ${summary.fail} FAIL`);
  }
  return summary.fail > 0 ? 1 : 0;
}
