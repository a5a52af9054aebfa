// `reroute status`: what the agent believes and why, for a support engineer, headline first. `--check`: the same as
// one line with a monitoring-plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Reads only: takes no lock,
// moves and writes nothing, not even a corrupt or a newer agent's state file.
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { describeFallback, loadAgentConfig, type AgentConfig } from '../../config/last-good';
import { configPath } from '../../config/load';
import { detectPlatform } from '../../config/platform';
import { configDefaults } from '../../config/schema';
import { describeJournal, pinActive, refreshOwedTo } from '../../decide';
import { requiredStableSec } from '../../decide/damping';
import { ConfigError } from '../../errors';
import { createRouteBackend } from '../../routes';
import { continueTime, readClock } from '../../runtime/clock';
import { bounded, READ_MS } from '../../runtime/files';
import { judgeOwner, parseOwner } from '../../runtime/lock';
import { silentLog } from '../../runtime/log';
import { runFiles } from '../../state/run-files';
import { loadState } from '../../state/store';
import type { CommandEnv } from '../context';
import { checkLine, conditions, EXIT_CODE, human, stamp, worst, type Condition, type StatusFacts } from '../status/headline';

const SHOWN = 10;
/** status's version of "is the runner alive": a holder judged with a generous bound (it only reads) */
const RUNNER_BOUND_MS = 10 * 60_000;
export const STATUS_SCHEMA = 'reroute-status/1';

/** The runner's lock holder: a live one, none, or cannot be told. */
async function runnerHolder(lock: string): Promise<StatusFacts['runner']> {
  try {
    const target = await bounded('read lock', lock, READ_MS, async () => {
      try {
        return await fsp.readlink(lock);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    });
    return target !== null && judgeOwner(parseOwner(target), RUNNER_BOUND_MS) !== 'gone' ? 'alive' : 'none';
  } catch {
    return 'unknown';
  }
}

/** --check when there is no config to go by (invalid, and no last good one): CRITICAL, with the default paths' age. */
async function checkWithoutConfig(err: ConfigError, env: CommandEnv): Promise<number> {
  const paths = configDefaults(detectPlatform()).paths;
  const loaded = await loadState(paths, silentLog, { moveAsideCorrupt: false });
  const time = continueTime(loaded.clock, readClock(), { recordSurvived: loaded.recordFound });
  const last = loaded.state.lastPass;
  const list: Condition[] = [{ code: 'config-invalid', severity: 'CRITICAL', text: `CONFIG INVALID, no last good config: the agent does not run (${err.message})` }];
  env.display.out(checkLine(list, { last_pass_age_seconds: last ? Math.round((time.now - last.at) / 1000) : null }));
  return EXIT_CODE.CRITICAL;
}

/** Print the headline, mode, route, pin, refresh owed, last decisions and the paths in use; or --check's line. */
export async function run(opts: { json: boolean; check?: boolean }, env: CommandEnv): Promise<number> {
  if (!opts.check) return status(opts, env);
  try {
    return await status(opts, env);
  } catch (e) {
    // a monitoring system reads one line and the code: what went wrong is UNKNOWN, not a stack
    env.display.out(`REROUTE UNKNOWN: status cannot be told: ${(e as Error).message}`);
    return EXIT_CODE.UNKNOWN;
  }
}

async function status(opts: { json: boolean; check?: boolean }, env: CommandEnv): Promise<number> {
  const path = configPath(env.globals.config);
  let agentConfig: AgentConfig;
  try {
    agentConfig = await loadAgentConfig(path, { keep: false });
  } catch (e) {
    if (opts.check && e instanceof ConfigError) return checkWithoutConfig(e, env);
    throw e;
  }
  const { config, fallback } = agentConfig;
  const loaded = await loadState(config.paths, silentLog, { moveAsideCorrupt: false });
  const { state } = loaded;
  const time = continueTime(loaded.clock, readClock(), { recordSurvived: loaded.recordFound });
  const wall = (t: number) => stamp(time.wallOf(t));
  const when = (t: number | null | undefined) => (t === null || t === undefined ? null : wall(t));
  const backend = await createRouteBackend(config, silentLog, { dryRun: true });
  const [route, runner] = await Promise.all([backend.readVip(), runnerHolder(runFiles(dirname(config.paths.record)).runnerLock)]);
  const engine = state.engine;
  const { journal } = engine.record;
  const last = journal[journal.length - 1] ?? null;
  const pinInForce = pinActive(state.pin, time.now);
  const asked = state.listAsked;
  const facts: StatusFacts = {
    now: time.now,
    wallOf: (t) => time.wallOf(t),
    localDataIp: config.local.dataIp,
    target: engine.target,
    route: route.ok ? { ok: true, nextHops: route.nextHops } : { ok: false, reason: route.reason },
    lastPass: state.lastPass,
    runner,
    lastReason: last?.reason ?? null,
    pin: pinInForce ? state.pin : null,
    local: engine.local,
    stableSec: requiredStableSec(engine.damping, time.now, config.decide),
    api: asked && !asked.ok ? { failingSince: asked.failingSince ?? asked.at, error: asked.error ?? 'the session list could not be had' } : null,
    configFallback: fallback ? describeFallback(fallback) : null,
    thresholds: config.status,
  };
  const list = conditions(facts);
  const lastPassAge = state.lastPass ? Math.round((time.now - state.lastPass.at) / 1000) : null;
  const reroutedFor = engine.target !== null && engine.target !== config.local.dataIp && engine.local.downSince !== null ? Math.round((time.now - engine.local.downSince) / 1000) : 0;
  if (opts.check && !opts.json) {
    env.display.out(checkLine(list, { last_pass_age_seconds: lastPassAge, rerouted_seconds: reroutedFor }));
    return EXIT_CODE[worst(list)];
  }

  const owed = refreshOwedTo(engine, config.local.dataIp);
  const { nfsRun, nfsAvoid } = engine.record;
  const nfsAvoidedUntil = Object.fromEntries(Object.entries(nfsAvoid).map(([ip, at]) => [ip, when(at + config.nfsCheck.avoidSec * 1000)]));
  const pin = state.pin;
  const status = {
    schema: STATUS_SCHEMA,
    severity: worst(list),
    headline: list[0]!.text,
    conditions: list,
    mode: pinInForce ? 'ROUTE' : 'LOOP',
    platform: backend.platform,
    nfsVip: config.nfsVip,
    route: route.ok ? { nextHops: route.nextHops, error: null } : { nextHops: null, error: route.reason },
    target: engine.target,
    runner: { lock: runner, lastPassAgeSec: lastPassAge },
    local: { dataIp: config.local.dataIp, status: last?.local ?? 'unknown', healthySince: when(engine.local.healthySince), downSince: when(engine.local.downSince) },
    pin: pin && {
      target: pin.target,
      until: pin.until === null ? null : when(pin.until),
      setAt: when(pin.setAt),
      active: pinInForce,
      force: pin.force ?? false,
      by: pin.by ?? null,
      from: pin.from ?? null,
      reason: pin.reason ?? null,
    },
    refresh: { owedTo: owed, lastDone: engine.refreshed && { ...engine.refreshed, at: when(engine.refreshed.at) }, failing: engine.record.refreshFailing },
    api: facts.api && { failingSince: when(facts.api.failingSince), error: facts.api.error },
    activeScvmDataIps: engine.activeDataIps,
    nfsCheck: { enabled: config.nfsCheck.enabled, run: nfsRun && { ...nfsRun, lastAt: when(nfsRun.lastAt) }, avoidedUntil: nfsAvoidedUntil },
    lastReason: last ? { reason: last.reason, because: last.because, at: when(last.at) } : null,
    lastPass: state.lastPass && { ...state.lastPass, at: when(state.lastPass.at), error: state.lastPass.error ?? null },
    journal: journal.slice(-SHOWN).map((j) => ({ ...j, at: when(j.at), until: j.until === undefined ? null : when(j.until) })),
    config: { path, lastGood: fallback ? { path: fallback.copy, savedAt: stamp(fallback.savedAt), error: fallback.error.message } : null },
    paths: { config: path, ...config.paths },
    firstRun: loaded.firstRun,
    readOnly: loaded.readOnly,
  };
  if (opts.json) {
    env.display.out(JSON.stringify(status, null, 2));
    return opts.check ? EXIT_CODE[status.severity] : 0;
  }
  const out = env.display.out;
  out(list[0]!.text);
  for (const c of list.slice(1)) out(`  also: ${c.text}`);
  out('');
  out(`runner:      ${runner === 'alive' ? 'running (holds the runner lock)' : runner === 'none' ? 'none holds the runner lock' : 'cannot tell (the runner lock cannot be read)'}; last pass ${state.lastPass ? `${human((lastPassAge ?? 0) * 1000)} ago, ${state.lastPass.ok ? 'ok' : `FAILED: ${state.lastPass.error}`} in ${state.lastPass.durationMs} ms` : 'never'}`);
  out(`route:       ${config.nfsVip}/32 via ${route.ok ? route.nextHops.join(', ') || 'NO ROUTE' : `unreadable (${route.reason})`}; the agent's target ${engine.target ?? 'not known yet'}`);
  out(`mode:        ${status.mode}${pinInForce && pin ? ` (pinned to ${pin.target} ${pin.until === null ? 'until route --auto' : `until ${wall(pin.until)}`}${pin.by ? ` by ${pin.by}` : ''}${pin.from ? ` from ${pin.from}` : ''}${pin.reason ? `: ${pin.reason}` : ''})` : ''}`);
  out(`local SCVM:  ${config.local.dataIp} ${status.local.status}${engine.local.healthySince !== null ? `, healthy since ${wall(engine.local.healthySince)}` : ''}`);
  out(`active SCVMs: ${engine.activeDataIps.join(', ') || 'none known'} (session list of ${when(engine.record.listAt) ?? 'never'})`);
  if (config.nfsCheck.enabled) {
    const nfs = nfsRun === null ? 'no check counted yet' : `via ${nfsRun.target}: ${nfsRun.failed === 0 ? 'answered' : `${nfsRun.failed} failed in a row (failed at ${config.nfsCheck.failures})`} at ${wall(nfsRun.lastAt)}`;
    const avoided = Object.entries(nfsAvoidedUntil).map(([ip, until]) => `${ip} until ${until}`);
    out(`NFS check:   ${nfs}${avoided.length ? `; avoided: ${avoided.join(', ')}` : ''}`);
  }
  if (last) out(`last reason: ${last.because}`);
  if (owed) {
    const f = engine.record.refreshFailing;
    out(`session refresh owed to ${owed}${f ? ` (failing since ${wall(f.since)}, ${f.attempts} attempts, last error: ${f.lastError})` : ''}`);
  }
  if (loaded.readOnly) out(`NOTE:        ${loaded.readOnly}; the agent reads it and does not write it`);
  out(`files:       config ${path}${fallback ? ` (INVALID: running on ${fallback.copy})` : ''}; state ${config.paths.state}; record ${config.paths.record}; log ${config.paths.log}${config.paths.logLink ? ` (link ${config.paths.logLink})` : ''}; lock ${config.paths.lock}`);
  const lines = describeJournal(
    journal.slice(-SHOWN).map((j) => ({ ...j, at: time.wallOf(j.at), ...(j.until !== undefined ? { until: time.wallOf(j.until) } : {}) })),
    stamp,
  );
  if (lines.length) {
    out('last decisions:');
    for (const l of lines) out(`  ${l}`);
  }
  return 0;
}
