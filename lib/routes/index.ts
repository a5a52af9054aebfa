// The route backend for this host: ESXi (esxcfg-route / esxcli) or Linux (iproute2, also XenServer dom0).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Config } from '../config/schema';
import { ConfigError, MissingValueError } from '../errors';
import type { Log } from '../runtime/log';
import { commandRunner, requireIPv4 } from './commands';
import { EsxiRouteBackend } from './esxi';
import { LinuxRouteBackend } from './linux';
import { resolvePlatform, type DetectOptions } from '../config/platform';
import type { BackendDeps, RouteBackend } from './types';

export type { RouteBackend, SwitchOptions, SwitchResult } from './types';

/** Options of createRouteBackend beyond the config. */
export interface BackendOptions {
  dryRun: boolean;
  /** argv prefix for iproute2; default ['ip'] (tests use ['ip', '-n', <ns>]) */
  ipCommand?: string[];
  /** environment of the commands, PATH included; default process.env */
  env?: NodeJS.ProcessEnv;
  /** how the platform is detected when config.platform is "auto" (tests name the kernel) */
  detect?: DetectOptions;
}

// ESXi keeps its tools here; cron's PATH may hold none of them.
const ESXI_DIRS = ['/sbin', '/bin', '/usr/sbin', '/usr/bin'];

/** Full path of an executable `name` in the directories of `path`, then in ESXi's own, or null. */
export function findTool(name: string, path: string | undefined): string | null {
  for (const dir of [...(path ?? '').split(delimiter), ...ESXI_DIRS]) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The part of the config a route backend is built from (`reroute doctor` builds one without a config file). */
export type RouteSettings = Pick<Config, 'platform' | 'nfsVip' | 'nfsHostIp' | 'commandTimeoutMs'>;

/** Build the backend for config.platform (detected when "auto"). Throws ConfigError when none fits. */
export async function createRouteBackend(config: RouteSettings, log: Log, opts: BackendOptions): Promise<RouteBackend> {
  const env = opts.env ?? process.env;
  const platform = resolvePlatform(config.platform, opts.detect);
  const deps: BackendDeps = {
    vip: requireIPv4(config.nfsVip, 'nfsVip'),
    nfsHostIp: requireIPv4(config.nfsHostIp, 'nfsHostIp'),
    log,
    dryRun: opts.dryRun,
    runner: commandRunner(log, config.commandTimeoutMs, env),
    commandTimeoutMs: config.commandTimeoutMs,
  };
  log.debug(`route backend: platform ${platform} (config ${config.platform})`);
  if (platform === 'esxi') {
    const tool = findTool('esxcfg-route', env.PATH) ? 'esxcfg-route' : findTool('esxcli', env.PATH) ? 'esxcli' : null;
    if (tool === null) {
      throw new ConfigError([
        `platform: "esxi" but neither esxcfg-route nor esxcli is found (PATH and ${ESXI_DIRS.join(', ')}); fix PATH or set platform to xen/linux`,
      ]);
    }
    return new EsxiRouteBackend(deps, tool);
  }
  const ip = opts.ipCommand ?? ['ip'];
  if (ip.length === 0 || ip.some((a) => a === '')) throw new MissingValueError('the ip command', { ipCommand: ip });
  return new LinuxRouteBackend(deps, ip);
}
