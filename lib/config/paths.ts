// Default paths per platform, and the config path in force. What must survive a reboot goes where the host keeps it;
// what changes every pass goes to a RAM-backed directory, so the host's boot media is written only when something
// happens.
//
//   ESXi:               /scratch (persistent unless /scratch is itself on the RAM disk: `reroute doctor` fails then),
//                       /var/run (the RAM disk)
//   XenServer / XCP-ng: dom0 has no /scratch (issue 28): /etc/reroute for the config, /var/lib for the state,
//   and plain Linux     /var/log for the log (the path support greps, so no link), /var/run (tmpfs /run) for the rest
import { UsageError } from '../errors';
import { detectPlatform, type Platform } from './platform';

export interface DefaultPaths {
  config: string;
  state: string;
  record: string;
  lock: string;
  log: string;
  /** a symlink to the log where support looks; null when the log is there already */
  logLink: string | null;
}

const ESXI: DefaultPaths = {
  config: '/scratch/reroute/config.json',
  state: '/scratch/reroute/state.json',
  record: '/var/run/reroute/record.json',
  lock: '/var/run/reroute/reroute.lock',
  log: '/scratch/log/scvm_failure.log',
  logLink: '/var/log/scvm_failure.log',
};

const DOM0: DefaultPaths = {
  config: '/etc/reroute/config.json',
  state: '/var/lib/reroute/state.json',
  record: '/var/run/reroute/record.json',
  lock: '/var/run/reroute/reroute.lock',
  log: '/var/log/scvm_failure.log',
  logLink: null,
};

/** The default paths on `platform` (xen and plain Linux share dom0's). */
export function defaultPaths(platform: Platform): DefaultPaths {
  return platform === 'esxi' ? ESXI : DOM0;
}

/**
 * The config path in force: --config, then REROUTE_CONFIG, then this platform's default. An empty REROUTE_CONFIG
 * (`REROUTE_CONFIG= reroute ...`) is unset; an empty --config is a mistake, named.
 */
export function configPath(flag: string | undefined, platform: () => Platform = () => detectPlatform()): string {
  if (flag === '') throw new UsageError(`--config is empty: give the config file's path, or leave --config out for the default (${defaultPaths(platform()).config})`);
  return flag ?? (process.env.REROUTE_CONFIG || undefined) ?? defaultPaths(platform()).config;
}

/**
 * paths.log and paths.record as a config file's text names them, as far as it can be read (nothing is checked), else
 * the defaults of the platform it names, or of this host's: for what must work with a broken config (logging its error, install's cron lines).
 */
export function pathsNamedBy(configText: string | null, platform: Platform = detectPlatform()): { log: string; record: string } {
  type Named = { platform?: unknown; paths?: { log?: unknown; record?: unknown } } | null;
  let named: Named;
  try {
    named = JSON.parse(configText ?? '') as Named;
  } catch {
    named = null;
  }
  const paths = named?.paths;
  const chosen = named?.platform === 'esxi' || named?.platform === 'xen' || named?.platform === 'linux' ? named.platform : platform;
  const defaults = defaultPaths(chosen);
  const given = (v: unknown, fallback: string) => (typeof v === 'string' && v.startsWith('/') ? v : fallback);
  return { log: given(paths?.log, defaults.log), record: given(paths?.record, defaults.record) };
}
