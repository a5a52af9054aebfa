// What every pass of one process works with: the checked config, the log, the route backend. Opened once per process.
import { dirname } from 'node:path';
import { describeFallback, loadAgentConfig, type Fallback } from '../config/last-good';
import { configPath, type Credentials } from '../config/load';
import type { Config } from '../config/schema';
import { ConfigError } from '../errors';
import { createRouteBackend, type RouteBackend } from '../routes';
import { openLog, type FileLog } from '../runtime/logger';
import { HOUR_MS, saidWithin } from '../runtime/said';
import { logConfigError } from './config-error';
import { configRejected, openTold, type Told } from './told';

export interface AgentOptions {
  /** --config; undefined = REROUTE_CONFIG or the default path */
  config?: string;
  dryRun: boolean;
  verbose: boolean;
  /** this process tells syslog and the hook the events (the runner, a one-pass loop; lib/pass/told.ts) */
  deliverEvents?: boolean;
}

export interface Agent {
  config: Config;
  configPath: string;
  credentials: Credentials | null;
  log: FileLog;
  backend: RouteBackend;
  dryRun: boolean;
  /** how this host is named in the balanced target choice */
  hostId: string;
  /** the config is invalid and this process runs on the last good copy (lib/config/last-good.ts) */
  fallback: Fallback | null;
  /** where the passes' events go (lib/pass/told.ts) */
  told?: Told;
}

/**
 * Check the config and open the log and the route backend. An invalid config is replaced by the last good one, said
 * at error in the log by every process (so once a minute as installed); with none, it throws ConfigError (exit 2)
 * after one line in the log file, since under cron nobody reads stderr (at most once an hour for the same error).
 */
export async function openAgent(opts: AgentOptions): Promise<Agent> {
  const path = configPath(opts.config);
  let loaded;
  try {
    loaded = await loadAgentConfig(path, { keep: !opts.dryRun });
  } catch (e) {
    if (e instanceof ConfigError) await logConfigError(path, e);
    throw e;
  }
  const { config, credentials, fallback } = loaded;
  const log = openLog({
    file: config.paths.log,
    link: config.paths.logLink,
    level: opts.verbose ? 'debug' : config.log.level,
    maxBytes: config.log.maxBytes,
    maxFiles: config.log.maxFiles,
    echo: opts.verbose,
    repeatMs: 60_000,
  });
  if (fallback) log.error(describeFallback(fallback));
  if (loaded.keepFailed) log.warn(`${loaded.keepFailed}: an invalid edit of the config would stop the agent; free or fix its directory`);
  let backend: RouteBackend;
  try {
    backend = await createRouteBackend(config, log, { dryRun: opts.dryRun });
  } catch (e) {
    if (e instanceof ConfigError) log.error(e.message);
    throw e;
  }
  const told = openTold(config, log, { deliver: opts.deliverEvents === true, dryRun: opts.dryRun });
  // the event once an hour for the same error (the log says it every minute): syslog and the hook are not a ticker
  if (fallback && !(await saidWithin(dirname(config.paths.record), `config-rejected ${fallback.error.message}`, HOUR_MS))) {
    told.tell(configRejected(path, fallback.error.message, fallback.copy));
  }
  return {
    config,
    configPath: path,
    credentials,
    log,
    backend,
    dryRun: opts.dryRun,
    hostId: config.hypervisorIp ?? config.local.dataIp,
    fallback,
    told,
  };
}
