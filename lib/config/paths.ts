// Default paths, and the config path in force. No zod here: the loader (dist/reroute.js) reads these before the
// bundle is loaded.

/** Default config path; REROUTE_CONFIG or --config override it. */
export const DEFAULT_CONFIG_PATH = '/scratch/reroute/config.json';
export const DEFAULT_STATE_PATH = '/scratch/reroute/state.json';
export const DEFAULT_LOCK_PATH = '/scratch/reroute/reroute.lock';

/** The config path in force: --config, then REROUTE_CONFIG, then the default. */
export function configPath(flag: string | undefined): string {
  return flag ?? process.env.REROUTE_CONFIG ?? DEFAULT_CONFIG_PATH;
}
