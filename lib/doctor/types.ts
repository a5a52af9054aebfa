// What every check of `reroute doctor` is: a title, a deadline, and a run that reports ok, warn or fail with the fix.
// A failed check is a result, never a throw (npm doctor's list of {title, check}; keepalived's checks).
import type { Credentials } from '../config/load';
import type { Config } from '../config/schema';
import type { Targets } from '../install/targets';
import type { MountTable } from './nfs-mounts';
import type { Detected, Platform } from '../config/platform';
import type { Log } from '../runtime/log';

export type Status = 'ok' | 'warn' | 'fail';

/** What one check found. `fix` says what to do when it is not ok. */
export interface CheckResult {
  status: Status;
  detail: string;
  fix?: string;
}

/** Everything the checks share, observed once. */
export interface DoctorContext {
  configPath: string;
  /** the valid config, or null (configError says why) */
  config: Config | null;
  configError: string | null;
  credentials: Credentials | null;
  /** the config's values, else the defaults: what the checks that run without a config use */
  settings: Omit<Config, 'local'>;
  /** the platform the agent would use: config.platform, detected when "auto" or without a config */
  platform: Platform;
  /** how that platform was chosen */
  platformHow: string;
  /** what detection says of this host (of the image under --root) */
  detected: Detected;
  /** the host's NFS mounts, read once for the checks that need them */
  mountTable(): Promise<MountTable>;
  /** where install writes on this platform (under --root when given) */
  targets: Targets;
  root: string | null;
  /** debug lines of the checks: stderr with --verbose, else nowhere */
  log: Log;
}

/** One line of the doctor's report. */
export interface Check {
  /** stable name for --json and tests */
  id: string;
  title: string;
  /** how long the check may take, ms; past it the check fails */
  deadlineMs(ctx: DoctorContext): number;
  run(ctx: DoctorContext): Promise<CheckResult>;
}

export const ok = (detail: string): CheckResult => ({ status: 'ok', detail });
export const warn = (detail: string, fix: string): CheckResult => ({ status: 'warn', detail, fix });
export const fail = (detail: string, fix: string): CheckResult => ({ status: 'fail', detail, fix });

/** The result of a check that needs a valid config when there is none. */
export function needsConfig(ctx: DoctorContext): CheckResult {
  return warn('not checked: no valid config', `fix the config first (see the config line): ${ctx.configPath}`);
}
