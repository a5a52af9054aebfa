// Default paths, and the config path in force. What must survive a reboot lives on /scratch (persistent on ESXi);
// what changes every pass lives on /var/run, a RAM disk on ESXi and a tmpfs (/run) on Linux, so the host's boot
// media (often an SD card) is written only when something happens.

/** Default config path; REROUTE_CONFIG or --config override it. */
export const DEFAULT_CONFIG_PATH = '/scratch/reroute/config.json';
export const DEFAULT_STATE_PATH = '/scratch/reroute/state.json';
export const DEFAULT_RECORD_PATH = '/var/run/reroute/record.json';
export const DEFAULT_LOCK_PATH = '/var/run/reroute/reroute.lock';
export const DEFAULT_LOG_PATH = '/scratch/log/scvm_failure.log';

/** The config path in force: --config, then REROUTE_CONFIG, then the default. */
export function configPath(flag: string | undefined): string {
  return flag ?? process.env.REROUTE_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/**
 * paths.log and paths.record as a config file's text names them, as far as it can be read (nothing is checked): for
 * what must work with a broken config (logging its error, install's cron lines).
 */
export function pathsNamedBy(configText: string | null): { log: string; record: string } {
  let paths: { log?: unknown; record?: unknown } | undefined;
  try {
    paths = (JSON.parse(configText ?? '') as { paths?: typeof paths } | null)?.paths;
  } catch {
    paths = undefined;
  }
  const named = (v: unknown, fallback: string) => (typeof v === 'string' && v.startsWith('/') ? v : fallback);
  return { log: named(paths?.log, DEFAULT_LOG_PATH), record: named(paths?.record, DEFAULT_RECORD_PATH) };
}
