// `reroute loop`: one automatic pass, as cron runs it.
import { openAgent } from '../../pass/agent';
import { runPass } from '../../pass/pass';
import { onExitFlush } from '../exit';
import type { CommandEnv } from '../context';

/** Run one LOOP pass; exit 1 when the route had to change and could not. */
export async function run(env: CommandEnv): Promise<number> {
  const agent = await openAgent(env.globals);
  onExitFlush(() => agent.log.flush());
  const report = await runPass(agent);
  if (env.globals.verbose || env.globals.dryRun) {
    const d = report.decision;
    env.display.out(`${d.change ? `route -> ${d.nextHop}` : 'route kept'} (${d.reason}): ${d.because}`);
  }
  return report.switched === 'failed' ? 1 : 0;
}
