// The agent as `reroute install` sets it up, for the benchmarks: production defaults (a config naming only what a
// host must name: its SCVMs, the API's port and credentials, the paths), the cron lines install writes, run by a real
// busybox crond in the simulated cluster's host namespace with cron's bare environment.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { guardCommandOf } from '../../lib/install/crontab';
import { dirname, join } from 'node:path';
import { PLAN, type Cluster } from './cluster';
import { EsxiHost, HOST_CONFIG, HOST_RUN } from './esxi/host';
import type { ProfileName } from './esxi/userworld';

const ROOT = join(__dirname, '..', '..');

export interface InstalledOptions {
  /** where the persistent paths go (the state file, the config, the log): a directory, e.g. a mounted ext4 image */
  persistent: string;
  /** install --every; default: none (the installed default) */
  every?: number;
  /** config keys beyond production defaults (benchmarks that need them say so) */
  extra?: Record<string, unknown>;
  /**
   * the RAM-disk directory (record, locks, hand-over files); default: a directory of the cluster's. A test may mount
   * something there first (a small tmpfs, a read-only bind mount, a FUSE file system)
   */
  run?: string;
  /** the state file's directory; default: `persistent`/reroute (with the config) */
  stateDir?: string;
  /**
   * The bundle as an ESXi host runs it (tests/support/esxi/host.ts): dist/bundle in a userworld root under `profile`
   * (none: as on Linux), `reroute install` run there through the launcher, which starts busybox crond in the root.
   * Default: the checkout's dist/reroute.js on this Node, crond started here.
   */
  bundle?: { profile?: ProfileName | null; jitless?: boolean; dir?: string };
  /**
   * crond's command line (run in the host namespace) as given, to run it inside something: e.g. a mount namespace of
   * its own with a syslog daemon (tests/support/syslogd.ts). Its pid stays crond's (each step execs the next).
   */
  wrapCrond?: (argv: string[]) => string[];
}

export interface Installed {
  config: string;
  record: string;
  log: string;
  /** the state file */
  state: string;
  /** the RAM-disk directory */
  run: string;
  /** the minute's cron line's command, as cron runs it (`sh -c`); see startRunnerNow */
  command: string;
  crond: ChildProcess;
  /** pids of the agent's processes now (runners, guards, watchdogs): everything naming our config */
  agentPids(): number[];
  /** the runner's journal (RAM record file); alike passes are one entry with `repeats` (lib/decide/journal.ts) */
  journal(): { at: number; local: string; reason: string; change: boolean; switched?: string; to: string; repeats?: number; until?: number }[];
  /** how many passes the journal holds */
  passes(): number;
  stop(): void;
  /** with `bundle`: the ESXi host the agent runs in */
  host?: EsxiHost;
}

/** A config of production defaults for the cluster, paths under `persistent` and `run`. */
export function productionConfig(
  persistent: string,
  run: string,
  extra: Record<string, unknown> = {},
  stateDir = join(persistent, 'reroute'),
): Record<string, unknown> {
  return {
    hypervisorIp: PLAN.host.manageIp,
    nfsHostIp: PLAN.host.nfsCidr.split('/')[0],
    local: { dataIp: PLAN.scvms[0].dataIp, manageIp: PLAN.scvms[0].manageIp },
    scvms: PLAN.scvms.map((s) => ({ dataIp: s.dataIp, manageIp: s.manageIp })),
    api: { port: PLAN.apiPort, username: PLAN.username, password: PLAN.password },
    paths: {
      state: join(stateDir, 'state.json'),
      record: join(run, 'record.json'),
      lock: join(run, 'reroute.lock'),
      log: join(persistent, 'log', 'scvm_failure.log'),
      logLink: null,
    },
    ...extra,
  };
}

/** Production defaults at an ESXi host's paths, for the bundle in its root (tests/support/esxi/host.ts). */
export function esxiHostConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return productionConfig('/scratch', HOST_RUN, { platform: 'esxi', ...extra });
}

/** Install the agent for `cluster` and start crond in its host namespace. The first runner starts at the next minute. */
export function install(cluster: Cluster, opts: InstalledOptions): Installed {
  if (opts.bundle) return installBundle(cluster, opts, opts.bundle);
  const dir = join(cluster.dir, 'installed');
  const run = opts.run ?? join(dir, 'run');
  const root = join(dir, 'root');
  mkdirSync(join(opts.persistent, 'reroute'), { recursive: true });
  mkdirSync(run, { recursive: true });
  const config = join(opts.persistent, 'reroute', 'config.json');
  const stateDir = opts.stateDir ?? join(opts.persistent, 'reroute');
  const body = productionConfig(opts.persistent, run, opts.extra, stateDir);
  writeFileSync(config, JSON.stringify(body, null, 2), { mode: 0o600 });
  const node = process.execPath;
  const entry = join(ROOT, 'dist', 'reroute.js');
  // install --root checks that what the cron line names exists inside the root: the real files, linked in
  for (const p of [node, entry, config]) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    if (!existsSync(join(root, p))) symlinkSync(p, join(root, p));
  }
  mkdirSync(join(root, 'var/spool/cron/crontabs'), { recursive: true });
  mkdirSync(join(root, 'etc/rc.local.d'), { recursive: true });
  const every = opts.every === undefined ? [] : ['--every', String(opts.every)];
  const r = spawnSync(
    node,
    [join(ROOT, 'bin', 'reroute'), '--config', config, 'install', ...every, '--root', root, '--platform', 'esxi', '--node', node, '--entry', entry],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`reroute install failed: ${r.stderr || r.stdout}`);
  const tabs = join(root, 'var/spool/cron/crontabs');
  const minuteLine = readFileSync(join(tabs, 'root'), 'utf8').split('\n').find((l) => l.startsWith('*/2 '));
  if (!minuteLine) throw new Error(`no minute line in ${join(tabs, 'root')}`);
  const command = minuteLine.split(' ').slice(5).join(' ');
  // cron's bare environment; crond in its own process group, so stop() takes it and its jobs
  const crond = spawn(
    'ip',
    ['netns', 'exec', cluster.ns('host'), ...(opts.wrapCrond ?? ((a: string[]) => a))(['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'busybox', 'crond', '-f', '-c', tabs, '-L', join(dir, 'crond.log')])],
    { detached: true, stdio: 'ignore' },
  );
  const journal = (): ReturnType<Installed['journal']> => {
    try {
      return (JSON.parse(readFileSync(join(run, 'record.json'), 'utf8')) as { engine: { journal: ReturnType<Installed['journal']> } }).engine.journal;
    } catch {
      return [];
    }
  };
  const agentPids = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(config) || readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(run);
        } catch {
          return false;
        }
      })
      .map(Number);
  return {
    config,
    record: join(run, 'record.json'),
    log: join(opts.persistent, 'log', 'scvm_failure.log'),
    state: join(stateDir, 'state.json'),
    run,
    command,
    crond,
    agentPids,
    journal,
    passes: () => journal().reduce((n, j) => n + (j.repeats ?? 1), 0),
    stop() {
      try {
        process.kill(-crond.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      for (const pid of agentPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
  };
}

/** The bundle installed in an ESXi root (InstalledOptions.bundle); `persistent` is bind-mounted as its /scratch. */
function installBundle(cluster: Cluster, opts: InstalledOptions, bundle: NonNullable<InstalledOptions['bundle']>): Installed {
  const host = new EsxiHost(cluster, { profile: bundle.profile ?? null, jitless: bundle.jitless, bundle: bundle.dir, config: esxiHostConfig(opts.extra), scratch: opts.persistent });
  const every = opts.every === undefined ? [] : ['--every', String(opts.every)];
  const r = host.runSync(['install', ...every]);
  const pid = host.crondPid();
  if (r.status !== 0 || pid === null) {
    host.cleanup();
    throw new Error(`reroute install in the ESXi root failed (${r.status}; crond ${pid ?? 'not started'}): ${r.stderr || r.stdout}`);
  }
  const crontab = host.at('/var/spool/cron/crontabs/root');
  const minuteLine = readFileSync(crontab, 'utf8').split('\n').find((l) => l.startsWith('*/2 '));
  if (!minuteLine) throw new Error(`no minute line in ${crontab}`);
  return {
    config: host.at(HOST_CONFIG),
    record: host.record,
    log: host.log,
    state: host.at('/scratch/reroute/state.json'),
    run: host.at(HOST_RUN),
    command: minuteLine.split(' ').slice(5).join(' '),
    // busybox crond daemonized itself (reroute install started it): not a child of ours, its pid is what there is
    crond: { pid } as ChildProcess,
    // as without the bundle: every process naming the config (runners, guards, watchdogs), not the ESXi commands
    agentPids: () => host.pidsRunning(HOST_CONFIG),
    journal: () => host.journal(),
    passes: () => host.passes(),
    stop: () => host.cleanup(),
    host,
  };
}

/** Run the CLI in the host namespace against the installed config (e.g. `route --target`), with cron's environment. */
export function cliInHost(cluster: Cluster, installed: Installed, args: string[]): { status: number | null; stderr: string } {
  if (installed.host) return installed.host.runSync(args);
  const r = spawnSync(
    'ip',
    ['netns', 'exec', cluster.ns('host'), 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', process.execPath, join(ROOT, 'bin', 'reroute'), '--config', installed.config, ...args],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { status: r.status, stderr: r.stderr };
}

/**
 * Start a runner now, as the minute's cron line would (its command, `sh -c`, cron's bare environment, in the host
 * namespace), instead of waiting for cron's next minute. Detached; stop() ends it with the rest.
 */
export function startRunnerNow(cluster: Cluster, installed: Installed): void {
  if (installed.host) throw new Error('startRunnerNow: the bundle runs inside its ESXi root; wait for its crond instead');
  const child = spawn(
    'ip',
    ['netns', 'exec', cluster.ns('host'), 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'sh', '-c', installed.command],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
}

/**
 * Run one check of the agent's guard cron line now, as it runs at its second of the minute (the check after the
 * `sleep`, `sh -c`, cron's bare environment, in the host namespace): crond acts only from the first minute boundary
 * after it starts, which a test would otherwise wait for.
 */
export function runGuardNow(cluster: Cluster): void {
  const tab = readFileSync(join(cluster.dir, 'installed', 'root', 'var', 'spool', 'cron', 'crontabs', 'root'), 'utf8');
  const command = tab.split('\n').map(guardCommandOf).find((c) => c !== null);
  if (!command) throw new Error('no guard line in the crontab');
  const child = spawn('ip', ['netns', 'exec', cluster.ns('host'), 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'sh', '-c', command], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

/** The runner processes of an installed agent (not the guard lines sleeping towards their second, nor crond). */
export function runnerPids(a: Installed): number[] {
  return a.agentPids().filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('loop') && !argv.some((x) => x.includes('sleep '));
    } catch {
      return false;
    }
  });
}
