// The one interface the pass uses to read and move the VIP route, and the factory that picks ESXi or Linux.
import type { Config } from '../../config/schema';
import { CommandError, ConfigError, MissingValueError } from '../../errors';
import { isIPv4 } from '../../net/ipv4';
import { run, type ExecResult } from '../../runtime/exec';
import type { Log } from '../../runtime/log';
import type { RouteObservation } from '../../types';
import { detectPlatform, findOnPath } from './detect';

/** What switchTo did: enough for the pass to log "trying to add route from <vip> to <X>" and before/after. */
export interface SwitchResult {
  /** the route was changed (false when it was already right, and in dry-run) */
  changed: boolean;
  dryRun: boolean;
  /** argv of every command issued, in order (in dry-run: the commands that would have been issued) */
  commands: string[][];
  /** next hops before, as given by the caller */
  before: string[];
  /** next hops read back after the change (= before when nothing was done) */
  after: string[];
  /** a failed change was undone by putting the old route back (only ever set on a thrown RouteError's result) */
  restored: boolean;
}

/** Reads and moves the `<vip>/32` host route of one platform. */
export interface RouteBackend {
  readonly platform: 'esxi' | 'linux';
  /** Next hops of the static `<vip>/32` routes; failure is data ({ok:false}), never a throw. */
  readVip(): Promise<RouteObservation>;
  /** Make `nextHop` the only next hop; no command at all when `current` is already exactly that. Throws RouteError. */
  switchTo(nextHop: string, current: string[]): Promise<SwitchResult>;
  /** This host's IPv4s for the session refresh, without nfsHostIp, loopback and link-local. Throws CommandError. */
  hostIps(): Promise<string[]>;
}

/** Runs one command with the configured hard timeout; failures are logged with stdout, stderr and status. */
export interface CommandRunner {
  /** Resolves whatever the exit status; rejects (after logging) on timeout or when the command cannot start. */
  run(argv: string[]): Promise<ExecResult>;
}

/** What both backends are built from. */
export interface BackendDeps {
  vip: string;
  nfsHostIp: string;
  log: Log;
  dryRun: boolean;
  runner: CommandRunner;
}

/** Options of createRouteBackend beyond the config. */
export interface BackendOptions {
  dryRun: boolean;
  /** argv prefix for iproute2; default ['ip'] (tests use ['ip', '-n', <ns>]) */
  ipCommand?: string[];
  /** environment of the commands, PATH included; default process.env */
  env?: NodeJS.ProcessEnv;
  /** XenServer's marker file, for detection; default /etc/xensource-inventory */
  xenInventory?: string;
}

/** Build the backend for config.platform (auto-detected when "auto"). Throws ConfigError when none fits. */
export async function createRouteBackend(config: Config, log: Log, opts: BackendOptions): Promise<RouteBackend> {
  const env = opts.env ?? process.env;
  const platform = detectPlatform(config.platform, { path: env.PATH, xenInventory: opts.xenInventory });
  const deps: BackendDeps = {
    vip: requireIPv4(config.nfsVip, 'nfsVip'),
    nfsHostIp: requireIPv4(config.nfsHostIp, 'nfsHostIp'),
    log,
    dryRun: opts.dryRun,
    runner: commandRunner(log, config.commandTimeoutMs, env),
  };
  log.debug(`route backend: platform ${platform} (config ${config.platform})`);
  if (platform === 'esxi') {
    const tool = findOnPath('esxcfg-route', env.PATH) ? 'esxcfg-route' : findOnPath('esxcli', env.PATH) ? 'esxcli' : null;
    if (tool === null) {
      throw new ConfigError([
        'platform: "esxi" but neither esxcfg-route nor esxcli is on PATH; fix PATH or set platform to xen/linux',
      ]);
    }
    // Loaded only on the platform that needs it: start-up time matters for a cron-driven agent.
    const { EsxiRouteBackend } = await import('./esxi');
    return new EsxiRouteBackend(deps, tool);
  }
  const ip = opts.ipCommand ?? ['ip'];
  if (ip.length === 0 || ip.some((a) => a === '')) throw new MissingValueError('the ip command', { ipCommand: ip });
  const { LinuxRouteBackend } = await import('./linux');
  return new LinuxRouteBackend(deps, ip);
}

/** RDMA clusters route via the SCVM's access IP instead of its data IP (config.accessIps maps one to the other). */
export function nextHopFor(dataIp: string, config: Pick<Config, 'accessIps'>): string {
  const ip = requireIPv4(dataIp, 'the data IP of the next hop');
  return requireIPv4(config.accessIps[ip] ?? ip, `accessIps["${ip}"]`);
}

/** A CommandRunner over lib/runtime/exec with `timeoutMs` per command. */
export function commandRunner(log: Log, timeoutMs: number, env: NodeJS.ProcessEnv): CommandRunner {
  return {
    async run(argv) {
      const line = argv.join(' ');
      let r: ExecResult;
      try {
        r = await run(argv, { timeoutMs, env });
      } catch (e) {
        log.error(`command "${line}" failed: ${(e as Error).message}`, { argv, timeoutMs });
        throw e;
      }
      if (r.status !== 0) {
        log.error(`command "${line}" exited ${r.status === null ? `on signal ${r.signal}` : r.status}`, {
          argv,
          status: r.status,
          signal: r.signal,
          stdout: r.stdout,
          stderr: r.stderr,
        });
      } else {
        log.debug(`command "${line}" ok in ${r.durationMs} ms`);
      }
      return r;
    },
  };
}

/** Outcome of one changing command: ok, or a one-line reason (non-zero exit, timeout, could not start). */
export type Attempt = { ok: true } | { ok: false; error: string };

/** Run a changing command and turn every failure into an Attempt instead of a throw. */
export async function attempt(runner: CommandRunner, argv: string[]): Promise<Attempt> {
  try {
    const r = await runner.run(argv);
    if (r.status === 0) return { ok: true };
    const first = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
    const how = r.status === null ? `signal ${r.signal}` : `exit ${r.status}`;
    return { ok: false, error: `"${argv.join(' ')}" failed with ${how}${first ? `: ${first}` : ''}` };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Run a read-only command; a non-zero exit becomes a CommandError (already logged by the runner). */
export async function readCommand(runner: CommandRunner, argv: string[]): Promise<ExecResult> {
  const r = await runner.run(argv);
  if (r.status !== 0) {
    const first = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
    throw new CommandError(`command "${argv.join(' ')}" failed with exit ${r.status ?? r.signal}: ${first}`, r);
  }
  return r;
}

/** True when the route already goes exactly (and only) via `nextHop`: then nothing may be issued. */
export function alreadyRight(current: string[], nextHop: string): boolean {
  return current.length === 1 && current[0] === nextHop;
}

/** `value` when it is a dotted-quad IPv4; otherwise a MissingValueError naming `what` (never build argv from it). */
export function requireIPv4(value: unknown, what: string): string {
  if (!isIPv4(value)) throw new MissingValueError(`${what} (got ${JSON.stringify(value)})`, { what, value });
  return value;
}

/** A SwitchResult for "nothing issued". */
export function unchanged(before: string[], dryRun: boolean, commands: string[][] = []): SwitchResult {
  return { changed: false, dryRun, commands, before: [...before], after: [...before], restored: false };
}
