// `reroute status`: what the agent believes and why, for a support engineer. Reads; takes no lock; changes nothing.
import { loadConfig, configPath } from '../../config/load';
import { describeJournal } from '../../decide';
import { loadState } from '../../state/store';
import { silentLog } from '../../runtime/log';
import type { CommandEnv } from '../context';

const SHOWN = 10;

function when(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? 'never' : new Date(ms).toISOString();
}

/** Print mode, route, pin, pending refresh, last decisions and the paths in use. */
export async function run(opts: { json: boolean }, env: CommandEnv): Promise<number> {
  const path = configPath(env.globals.config);
  const { config } = loadConfig(path);
  const { state, firstRun } = loadState(config.paths.state, silentLog);
  const { createRouteBackend } = await import('../../act/routes/backend');
  const backend = await createRouteBackend(config, silentLog, { dryRun: true });
  const route = await backend.readVip();
  const engine = state.engine;
  const last = engine.journal[engine.journal.length - 1] ?? null;
  const pinActive = state.pin !== null && (state.pin.until === null || state.pin.until > Date.now());
  const status = {
    mode: pinActive ? 'ROUTE' : 'LOOP',
    platform: backend.platform,
    nfsVip: config.nfsVip,
    route: route.ok ? { nextHops: route.nextHops } : { error: route.reason },
    target: engine.target,
    local: { dataIp: config.local.dataIp, status: last?.local ?? 'unknown', healthySince: engine.local.healthySince },
    pin: state.pin,
    refreshPending: engine.refreshPending,
    activeScvmDataIps: engine.activeDataIps,
    lastReason: last ? { reason: last.reason, because: last.because, at: last.at } : null,
    lastPass: state.lastPass,
    journal: engine.journal.slice(-SHOWN),
    paths: { config: path, state: config.paths.state, lock: config.paths.lock, log: config.paths.log, logLink: config.paths.logLink },
    firstRun,
  };
  if (opts.json) {
    env.display.out(JSON.stringify(status, null, 2));
    return 0;
  }
  const out = env.display.out;
  out(`mode:        ${status.mode}${pinActive ? ` (pinned to ${state.pin!.target} ${state.pin!.until === null ? 'until route --auto' : `until ${when(state.pin!.until)}`})` : ''}`);
  out(`route:       ${config.nfsVip}/32 via ${route.ok ? route.nextHops.join(', ') || 'NO ROUTE' : `unreadable (${route.reason})`}`);
  out(`local SCVM:  ${config.local.dataIp} ${status.local.status}${engine.local.healthySince ? `, healthy since ${when(engine.local.healthySince)}` : ''}`);
  out(`active SCVMs: ${engine.activeDataIps.join(', ') || 'none known'} (session list of ${when(engine.sessions.at)})`);
  if (last) out(`last reason: ${last.because}`);
  if (engine.refreshPending) {
    out(`session refresh pending for ${engine.refreshPending.target} since ${when(engine.refreshPending.since)} (${engine.refreshPending.attempts} attempts${engine.refreshPending.lastError ? `, last error: ${engine.refreshPending.lastError}` : ''})`);
  }
  out(`last pass:   ${state.lastPass ? `${when(state.lastPass.at)} ${state.lastPass.ok ? 'ok' : `FAILED: ${state.lastPass.error}`} in ${state.lastPass.durationMs} ms` : 'never'}`);
  out(`files:       config ${path}; state ${config.paths.state}; log ${config.paths.log}${config.paths.logLink ? ` (link ${config.paths.logLink})` : ''}; lock ${config.paths.lock}`);
  const lines = describeJournal(engine.journal.slice(-SHOWN));
  if (lines.length) {
    out('last decisions:');
    for (const l of lines) out(`  ${l}`);
  }
  return 0;
}
