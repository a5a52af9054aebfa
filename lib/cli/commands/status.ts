// `reroute status`: what the agent believes and why, for a support engineer. Reads only: takes no lock, moves and
// writes nothing, not even a corrupt or a newer agent's state file.
import { loadConfig, configPath } from '../../config/load';
import { describeJournal } from '../../decide';
import { createRouteBackend } from '../../routes';
import { continueTime, readClock } from '../../runtime/clock';
import { silentLog } from '../../runtime/log';
import { loadState } from '../../state/store';
import type { CommandEnv } from '../context';

const SHOWN = 10;

/** Print mode, route, pin, refresh owed, last decisions and the paths in use. */
export async function run(opts: { json: boolean }, env: CommandEnv): Promise<number> {
  const path = configPath(env.globals.config);
  const { config } = loadConfig(path);
  const loaded = await loadState(config.paths, silentLog, { moveAsideCorrupt: false });
  const { state } = loaded;
  const time = continueTime(loaded.clock, readClock(), { recordSurvived: loaded.recordFound });
  const when = (t: number | null | undefined) => (t === null || t === undefined ? 'never' : new Date(time.wallOf(t)).toISOString());
  const backend = await createRouteBackend(config, silentLog, { dryRun: true });
  const route = await backend.readVip();
  const engine = state.engine;
  const { journal } = engine.record;
  const last = journal[journal.length - 1] ?? null;
  const pinActive = state.pin !== null && (state.pin.until === null || state.pin.until > time.now);
  const refreshedTo = engine.refreshed?.target ?? config.local.dataIp;
  const owed = engine.target !== null && engine.target !== refreshedTo ? engine.target : null;
  const { nfsRun, nfsAvoid } = engine.record;
  const nfsAvoidedUntil = Object.fromEntries(Object.entries(nfsAvoid).map(([ip, at]) => [ip, when(at + config.nfsCheck.avoidSec * 1000)]));
  const status = {
    mode: pinActive ? 'ROUTE' : 'LOOP',
    platform: backend.platform,
    nfsVip: config.nfsVip,
    route: route.ok ? { nextHops: route.nextHops } : { error: route.reason },
    target: engine.target,
    local: { dataIp: config.local.dataIp, status: last?.local ?? 'unknown', healthySince: when(engine.local.healthySince) },
    pin: state.pin && { target: state.pin.target, until: state.pin.until === null ? null : when(state.pin.until) },
    refresh: { owedTo: owed, lastDone: engine.refreshed && { ...engine.refreshed, at: when(engine.refreshed.at) }, failing: engine.record.refreshFailing },
    activeScvmDataIps: engine.activeDataIps,
    nfsCheck: { enabled: config.nfsCheck.enabled, run: nfsRun && { ...nfsRun, lastAt: when(nfsRun.lastAt) }, avoidedUntil: nfsAvoidedUntil },
    lastReason: last ? { reason: last.reason, because: last.because, at: when(last.at) } : null,
    lastPass: state.lastPass && { ...state.lastPass, at: when(state.lastPass.at) },
    journal: journal.slice(-SHOWN).map((j) => ({ ...j, at: when(j.at), ...(j.until !== undefined ? { until: when(j.until) } : {}) })),
    paths: { config: path, ...config.paths },
    firstRun: loaded.firstRun,
    ...(loaded.readOnly ? { readOnly: loaded.readOnly } : {}),
  };
  if (opts.json) {
    env.display.out(JSON.stringify(status, null, 2));
    return 0;
  }
  const out = env.display.out;
  const pin = state.pin;
  out(`mode:        ${status.mode}${pinActive && pin ? ` (pinned to ${pin.target} ${pin.until === null ? 'until route --auto' : `until ${when(pin.until)}`})` : ''}`);
  out(`route:       ${config.nfsVip}/32 via ${route.ok ? route.nextHops.join(', ') || 'NO ROUTE' : `unreadable (${route.reason})`}`);
  out(`local SCVM:  ${config.local.dataIp} ${status.local.status}${engine.local.healthySince !== null ? `, healthy since ${when(engine.local.healthySince)}` : ''}`);
  out(`active SCVMs: ${engine.activeDataIps.join(', ') || 'none known'} (session list of ${when(engine.record.listAt)})`);
  if (config.nfsCheck.enabled) {
    const run = nfsRun === null ? 'no check counted yet' : `via ${nfsRun.target}: ${nfsRun.failed === 0 ? 'answered' : `${nfsRun.failed} failed in a row (failed at ${config.nfsCheck.failures})`} at ${when(nfsRun.lastAt)}`;
    const avoided = Object.entries(nfsAvoidedUntil).map(([ip, until]) => `${ip} until ${until}`);
    out(`NFS check:   ${run}${avoided.length ? `; avoided: ${avoided.join(', ')}` : ''}`);
  }
  if (last) out(`last reason: ${last.because}`);
  if (owed) {
    const f = engine.record.refreshFailing;
    out(`session refresh owed to ${owed}${f ? ` (failing since ${when(f.since)}, ${f.attempts} attempts, last error: ${f.lastError})` : ''}`);
  }
  out(`last pass:   ${state.lastPass ? `${when(state.lastPass.at)} ${state.lastPass.ok ? 'ok' : `FAILED: ${state.lastPass.error}`} in ${state.lastPass.durationMs} ms` : 'never'}`);
  if (loaded.readOnly) out(`NOTE:        ${loaded.readOnly}; the agent reads it and does not write it`);
  out(`files:       config ${path}; state ${config.paths.state}; record ${config.paths.record}; log ${config.paths.log}${config.paths.logLink ? ` (link ${config.paths.logLink})` : ''}; lock ${config.paths.lock}`);
  const lines = describeJournal(
    journal.slice(-SHOWN).map((j) => ({ ...j, at: time.wallOf(j.at), ...(j.until !== undefined ? { until: time.wallOf(j.until) } : {}) })),
  );
  if (lines.length) {
    out('last decisions:');
    for (const l of lines) out(`  ${l}`);
  }
  return 0;
}
