// What every pass of one process works with: the checked config, the log, the route backend. Opened once per process.
import { configPath, loadConfig, type Credentials } from '../config/load';
import type { Config } from '../config/schema';
import { ConfigError } from '../errors';
import { createRouteBackend, type RouteBackend } from '../routes';
import { openLog, type FileLog } from '../runtime/logger';
import { logConfigError } from './config-error';
import { openTold, type Told } from './told';

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
  /** where the passes' events go (lib/pass/told.ts) */
  told?: Told;
}

/**
 * Check the config and open the log and the route backend. A bad config throws ConfigError (exit 2) after one line in
 * the log file, since under cron nobody reads stderr (at most once an hour for the same error).
 */
export async function openAgent(opts: AgentOptions): Promise<Agent> {
  const path = configPath(opts.config);
  let loaded;
  try {
    loaded = loadConfig(path);
  } catch (e) {
    if (e instanceof ConfigError) await logConfigError(path, e);
    throw e;
  }
  const { config, credentials } = loaded;
  const log = openLog({
    file: config.paths.log,
    link: config.paths.logLink,
    level: opts.verbose ? 'debug' : config.log.level,
    maxBytes: config.log.maxBytes,
    maxFiles: config.log.maxFiles,
    echo: opts.verbose,
    repeatMs: 60_000,
  });
  let backend: RouteBackend;
  try {
    backend = await createRouteBackend(config, log, { dryRun: opts.dryRun });
  } catch (e) {
    if (e instanceof ConfigError) log.error(e.message);
    throw e;
  }
  return {
    config,
    configPath: path,
    credentials,
    log,
    backend,
    dryRun: opts.dryRun,
    hostId: config.hypervisorIp ?? config.local.dataIp,
    told: openTold(config, log, { deliver: opts.deliverEvents === true, dryRun: opts.dryRun }),
  };
}
