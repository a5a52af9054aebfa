// The last good config: a copy of the config as it last loaded without a problem, kept beside it (same directory,
// so on the persistent disk: /scratch/reroute on ESXi, /etc/reroute on dom0). When an edit leaves the config invalid
// (a typo, a half-copied file, a key the schema refuses), the agent runs on this copy and says so, instead of
// stopping: failover must not depend on the next edit being right, not even after a reboot (issue 29).
// The copy is written only when the config changed, so steady passes write nothing.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors';
import { writeFileBounded } from '../runtime/files';
import { loadConfig, type LoadedConfig } from './load';
import type { Platform } from './platform';

export function lastGoodPath(configPath: string): string {
  return `${configPath}.last-good`;
}

/** The config is invalid and the agent runs on the last good copy. */
export interface Fallback {
  /** why the config itself was refused */
  error: ConfigError;
  /** the copy in use */
  copy: string;
  /** when the copy was saved (epoch ms): the last time the config was good */
  savedAt: number;
}

export interface AgentConfig extends LoadedConfig {
  /** null: the config itself is in use */
  fallback: Fallback | null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Load the config, or the last good copy when the config is invalid; throws the config's own ConfigError when there is
 * no usable copy. With `keep`, a config that loads is saved as the copy when it differs from it (a failed save is
 * returned as a warning: the agent goes on).
 */
export async function loadAgentConfig(
  path: string,
  opts: { keep: boolean; host?: Platform },
): Promise<AgentConfig & { keepFailed?: string }> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(path, opts.host);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const copy = lastGoodPath(path);
    let good: LoadedConfig;
    try {
      good = loadConfig(copy, opts.host);
    } catch {
      throw e; // no copy, or the copy is no good either (its credentials file, say): the config's own error
    }
    return { ...good, path, fallback: { error: e, copy, savedAt: statSync(copy).mtimeMs } };
  }
  if (!opts.keep) return { ...loaded, fallback: null };
  const copy = lastGoodPath(path);
  const text = loaded.text;
  if (readOrNull(copy) === text) return { ...loaded, fallback: null };
  try {
    await writeFileBounded(copy, text, { mode: 0o600, durable: true });
    return { ...loaded, fallback: null };
  } catch (e) {
    return { ...loaded, fallback: null, keepFailed: `cannot save the last good config ${copy} (${(e as Error).message})` };
  }
}

/** The log and status line for a fallback. */
export function describeFallback(f: Fallback): string {
  return `${f.error.message}; running on the last good config ${f.copy} (saved ${new Date(f.savedAt).toISOString()}) until it is fixed`;
}
