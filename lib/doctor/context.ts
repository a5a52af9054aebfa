// What the checks share, observed once: the config (or why there is none), the platform, the install targets.
import { resolve } from 'node:path';
import { loadConfig, type Credentials } from '../config/load';
import { configDefaults, type Config } from '../config/schema';
import { readMountTable, type MountTable } from './nfs-mounts';
import { targetsFor } from '../install/targets';
import { detectPlatformWhy } from '../config/platform';
import type { Log } from '../runtime/log';
import type { DoctorContext } from './types';

/** The esxcli storage listings can take seconds on a host with many datastores; doctor is run by hand. */
const MOUNT_TABLE_TIMEOUT_MS = 10_000;

export interface ContextOptions {
  configPath: string;
  root: string | null;
  log: Log;
}

/** Load the config (a bad one is a finding, not a throw), choose the platform, find the install targets. */
export function doctorContext(o: ContextOptions): DoctorContext {
  const configPath = resolve(o.configPath);
  let config: Config | null = null;
  let credentials: Credentials | null = null;
  let configError: string | null = null;
  const detected = detectPlatformWhy({ root: o.root });
  try {
    ({ config, credentials } = loadConfig(configPath, detected.platform));
  } catch (e) {
    configError = (e as Error).message;
  }
  const settings = config ?? configDefaults(detected.platform);
  const configured = config?.platform ?? 'auto';
  const platform = configured === 'auto' ? detected.platform : configured;
  const platformHow = configured === 'auto' ? detected.how : `config names it (platform "${configured}")`;
  let table: Promise<MountTable> | null = null;
  return {
    configPath,
    config,
    configError,
    credentials,
    settings,
    platform,
    platformHow,
    detected,
    targets: targetsFor(platform, o.root),
    root: o.root,
    log: o.log,
    mountTable: () =>
      // the agent's files are the live host's, --root or not
      (table ??= readMountTable({ platform, vip: settings.nfsVip, root: null, timeoutMs: MOUNT_TABLE_TIMEOUT_MS })),
  };
}
