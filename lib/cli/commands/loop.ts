// `reroute loop`: one automatic pass, as cron ran it; with --every, the long-lived mode install sets up: a pass every
// cadence until the next minute's process takes over (lib/pass/runner.ts).
import { dirname, join } from 'node:path';
import { UsageError } from '../../errors';
import { MIN_EVERY_SEC } from '../../config/cadence';
import { parseSeconds } from '../seconds';
import { warnAgentFilesOnNfs } from '../../doctor/files-on-nfs';
import { openAgent } from '../../pass/agent';
import { recordFailedPass } from '../../pass/failed-pass';
import { runPass } from '../../pass/pass';
import { runLoop } from '../../pass/runner';
import { monotonicMs } from '../../runtime/host';
import { onExitFlush } from '../exit';
import type { CommandEnv } from '../context';

export interface LoopOptions {
  /** cadence in seconds (long-lived mode); absent: one pass */
  every?: string;
  /** how long the long-lived mode runs, seconds; default: to the next minute's process */
  for?: string;
}

/** Seconds given on the command line, within bounds, as ms. */
const ms = (option: string, value: string, min: number, max: number) => Math.round(parseSeconds(`loop: ${option}`, value, { min, max }) * 1000);

/** What the runner watches to notice an upgrade: the bundle's executable, or the loader and the bundle it loads. */
function binaries(env: CommandEnv): string[] {
  if (process.env.REROUTE_BUNDLE) return [join(process.env.REROUTE_BUNDLE, 'bin', 'reroute.real')];
  const entry = env.boot?.entry;
  return entry ? [entry, join(dirname(entry), 'main.js')] : [];
}

/** Run one LOOP pass (exit 1 when the route had to change and could not), or the long-lived mode. */
export async function run(opts: LoopOptions, env: CommandEnv): Promise<number> {
  if (opts.for !== undefined && opts.every === undefined) throw new UsageError('loop: --for goes with --every');
  const everyMs = opts.every === undefined ? null : ms('--every', opts.every, MIN_EVERY_SEC, 59);
  const forMs = opts.for === undefined ? undefined : ms('--for', opts.for, 1, 3600);
  const agent = await openAgent({ ...env.globals, deliverEvents: true });
  onExitFlush(() => agent.log.flush(), agent.log);
  // issue 15 case 7, at most once an hour: beside the passes, not before them (on ESXi it starts two esxcli processes)
  const filesCheck = warnAgentFilesOnNfs(agent.config, agent.configPath, agent.backend.platform, agent.log);
  try {
    if (everyMs !== null) return await runLoop(agent, { everyMs, forMs, watchFiles: [agent.configPath, ...binaries(env)] });
    const started = monotonicMs();
    const report = await runPass(agent)
      .catch(async (e: unknown) => {
        await recordFailedPass(agent, e, started);
        throw e;
      })
      .finally(() => agent.told?.close(agent.config.events.timeoutMs + agent.config.hooks.timeoutMs));
    if (env.globals.verbose || env.globals.dryRun) {
      const d = report.decision;
      env.display.out(`${d.change ? `route -> ${d.nextHop}` : 'route kept'} (${d.reason}): ${d.because}`);
    }
    return report.switched === 'failed' ? 1 : 0;
  } finally {
    await filesCheck;
  }
}
