// `reroute loop`: one automatic pass, as cron runs it. Lock, observe, decide, act, save.
// Only what the ICMP sweep needs is loaded before it starts; the engine, the backends, the API client and the log
// file load while the sweep waits for its echoes (the longest step of a pass).
import { probeTargets } from '../../decide/probe-targets';
import { withPass, type PassContext } from '../../runtime/pass';
import type { CommandEnv } from '../context';
import type { Decision } from '../../decide';
import { mark } from '../../runtime/trace';
import { adoptSweep } from '../../observe/icmp/adopt-sweep';
import type { ProbeSettings, SweepHandle } from '../../observe/icmp/prober';
import type { Log } from '../../runtime/log';

/** What one pass did, for the commands that print it. */
export interface PassReport {
  decision: Decision;
  switched: 'no' | 'yes' | 'failed' | 'dry-run';
  heartbeat: 'sent' | 'failed' | 'none';
}

async function startOwnSweep(targets: string[], settings: ProbeSettings, log: Log): Promise<SweepHandle> {
  const { startSweep } = await import('../../observe/icmp/prober');
  const sweep = startSweep(targets, settings, log);
  mark('sweep started');
  return sweep;
}

/** The pipeline of one pass, inside an already-taken lock (shared with `reroute route`). */
export async function passBody(ctx: PassContext): Promise<PassReport> {
  const { config, log, state, progress, dryRun } = ctx;
  const now = Date.now();
  progress.step = 'starting the ICMP sweep';
  // The sweep waits on echo replies for most of the pass: start it first (or adopt the loader's), load the rest while
  // it runs.
  const targets = probeTargets(config, state.engine);
  const sweep = adoptSweep(ctx.earlySweep, targets, config.probe, log) ?? (await startOwnSweep(targets, config.probe, log));
  const probes = sweep.done;
  probes.catch(() => undefined); // awaited in observe(); a rejection before then must not count as unhandled
  progress.step = 'opening the log file';
  log.attach();
  mark('log file open');
  progress.step = 'loading the backends';
  const [{ createRouteBackend }, { createZbsClient }, { observe }, { decide }, { act }] = await Promise.all([
    import('../../act/routes/backend'),
    import('../../observe/zbs/client'),
    import('../../observe'),
    import('../../decide'),
    import('../../act'),
  ]);
  mark('backends loaded');
  const backend = await createRouteBackend(config, log, { dryRun });
  const client = createZbsClient({ config, credentials: ctx.credentials, log, cache: state.api, now: Date.now });
  try {
    const obs = await observe({
      config,
      log,
      backend,
      client,
      progress,
      probes,
      cachedSwitches: state.api.switches,
    });

    mark('observed');
    progress.step = 'deciding';
    const hostId = config.hypervisorIp ?? config.local.dataIp;
    const { decision, state: decided } = decide({ obs, state: state.engine, pin: state.pin, config, now, hostId });
    for (const w of decision.warnings) log.warn(w);
    log.info(
      `pass: local ${decision.local}, route ${decision.from.join(',') || 'none'} -> ${
        decision.change ? decision.nextHop : 'keep'
      } (row ${decision.row} ${decision.reason}): ${decision.because}`,
    );
    if (decision.clearPin && state.pin) {
      const why = decision.pinTargetFailing?.cleared ? 'its target failed past decide.pinGraceSec' : 'expired';
      log.info(`pin to ${state.pin.target} removed (${why}); back to LOOP mode`);
      state.pin = null;
    }

    mark('decided');
    const persist = (engine: typeof decided) => {
      if (dryRun) return;
      state.engine = engine;
      ctx.writeStateEarly();
    };
    const acted = await act(decision, decided, { config, log, backend, client, lock: ctx.lock, progress, dryRun, now, persist });
    mark('acted');
    if (!dryRun) state.engine = acted.state;
    const sw = acted.outcome.switched;
    return {
      decision,
      switched: !decision.change ? 'no' : dryRun ? 'dry-run' : sw?.ok ? 'yes' : 'failed',
      heartbeat: acted.heartbeat,
    };
  } finally {
    progress.step = 'closing API connections';
    await client.close();
    mark('API closed');
  }
}

/** Run one LOOP pass; exit 1 when the route had to change and could not. */
export async function run(env: CommandEnv): Promise<number> {
  const report = await withPass(env.globals, 'loop', passBody, env.boot?.earlySweep ?? null);
  env.boot?.passDone();
  if (env.globals.verbose || env.globals.dryRun) {
    env.display.out(
      `${report.decision.change ? `route -> ${report.decision.nextHop}` : 'route kept'} (${report.decision.reason}): ${
        report.decision.because
      }`,
    );
  }
  return report.switched === 'failed' ? 1 : 0;
}
