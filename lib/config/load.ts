// I/O: read the config file (and the credentials file it names), check their permissions, then validate.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { ConfigError } from '../errors';
import { parseConfigJson } from './json';
import { detectPlatform, type Platform } from './platform';
import type { Config } from './schema';
import { validateConfig } from './validate';

export { configPath } from './paths';

export interface Credentials {
  username: string;
  password: string;
}

export interface LoadedConfig {
  config: Config;
  path: string;
  /** null when the config names none (the API is then used without login) */
  credentials: Credentials | null;
  /** the config file's text, as read and checked */
  text: string;
}

function readJson(path: string, what: string): { value: unknown; text: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT'
        ? 'create it (see docs/config.md) or pass --config <file>'
        : code === 'EISDIR'
          ? 'that is a directory: name the file in it (e.g. config.json)'
          : 'check its permissions';
    throw new ConfigError([`cannot read ${what} ${path} (${code ?? 'error'}): ${hint}`]);
  }
  const parsed = parseConfigJson(text);
  if (!parsed.ok) throw new ConfigError([`${what} ${path} ${parsed.problem}`]);
  return { value: parsed.value, text };
}

/**
 * Refuse a file others may write (anyone could then redirect the host's storage), and one others may read when it
 * holds a secret.
 */
function checkMode(path: string, what: string, holdsSecret: boolean): Stats {
  const st = statSync(path);
  if ((st.mode & 0o022) !== 0) {
    throw new ConfigError([
      `${what} ${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}): run chmod go-w ${path}`,
    ]);
  }
  if (holdsSecret && (st.mode & 0o044) !== 0) {
    throw new ConfigError([
      `${what} ${path} holds a password and is readable by group or others (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${path}`,
    ]);
  }
  return st;
}

function readCredentials(path: string): Credentials {
  const raw = readJson(path, 'credentials file').value;
  checkMode(path, 'credentials file', true);
  const r = raw as Record<string, unknown> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    typeof r.username !== 'string' ||
    r.username === '' ||
    typeof r.password !== 'string' ||
    r.password === ''
  ) {
    throw new ConfigError([`credentials file ${path} must hold {"username": "...", "password": "..."} with both non-empty`]);
  }
  return { username: r.username, password: r.password };
}

/**
 * Load and check the config; throws ConfigError (exit 2) with one line per problem. `host`: the platform whose default
 * paths a config with platform "auto" gets (this host's; doctor --root gives the image's).
 */
export function loadConfig(path: string, host: Platform = detectPlatform()): LoadedConfig {
  const { value: raw, text } = readJson(path, 'config file');
  const result = validateConfig(raw, host);
  if (!result.ok) throw new ConfigError(result.problems, path);
  const config = result.config;
  checkMode(path, 'config file', config.api.password !== undefined);
  let credentials: Credentials | null = null;
  if (config.api.credentialsFile) credentials = readCredentials(config.api.credentialsFile);
  else if (config.api.username !== undefined && config.api.password !== undefined)
    credentials = { username: config.api.username, password: config.api.password };
  return { config, path, credentials, text };
}
