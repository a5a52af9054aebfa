// A config error under cron: cron sends the agent's output nowhere, so a host with a bad config would look silent
// to support. One line goes to the log file: the configured one when the config names it, else the default. The same
// error is logged at most once an hour (lib/runtime/said.ts).
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathsNamedBy } from '../config/paths';
import type { ConfigError } from '../errors';
import { formatLine } from '../runtime/logger';
import { HOUR_MS, saidWithin } from '../runtime/said';

/** Log a config error once an hour. Never throws: the caller exits 2 whatever happens here. */
export async function logConfigError(configPath: string, err: ConfigError): Promise<void> {
  let text: string | null = null;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch {
    // unreadable: the defaults
  }
  const paths = pathsNamedBy(text);
  if (await saidWithin(dirname(paths.record), err.message, HOUR_MS)) return;
  try {
    mkdirSync(dirname(paths.log), { recursive: true });
    appendFileSync(paths.log, formatLine('error', `${err.message}; no pass is made until the config is fixed (exit 2)`) + '\n');
  } catch {
    // the log cannot be written either: stderr has the line
  }
}
