// The bundle as an ESXi host runs it, in the simulated cluster's host namespace: a userworld root (userworld.ts) under a
// profile, the agent's config and files inside it at a host's paths, every command started through the launcher with
// cron's bare environment. `install()` runs `reroute install` as a host's init script does: it writes root's crontab
// and starts busybox crond inside the root, under the same profile, so cron's runs, the guards and the fakes inherit it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../cluster';
import { esxiRoot, profileCalls, SCRATCH_VOLUME, userworldArgv, type EsxiRoot, type ProfileName } from './userworld';

/** The launcher as the VIB installs it. */
export const HOST_LAUNCHER = '/opt/reroute/bin/reroute';
/** The config where the VIB's init script looks for it. */
export const HOST_CONFIG = '/scratch/reroute/config.json';
/** The RAM paths of the agent on the host (record, locks, hand-over files). */
export const HOST_RUN = '/var/run/reroute';

export interface EsxiHostOptions {
  /** the system calls that fail: a profile, or none (the bundle as on Linux) */
  profile?: ProfileName | null;
  /** `jitless=1` in /scratch/reroute/install.conf: the launcher starts Node with --jitless */
  jitless?: boolean;
  /** the agent's config (tests/support/installed.ts, esxiHostConfig: production defaults at a host's paths) */
  config: Record<string, unknown>;
  /** default: dist/bundle */
  bundle?: string;
  /** a directory to bind-mount as the host's /scratch (the persistent disk: a benchmark's ext4 image) */
  scratch?: string;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** cron's environment on the host, plus the fakes' switch that mirrors their table into the namespace's kernel. */
const CRON_ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/', 'LOGNAME=root', 'SHELL=/bin/sh', 'FAKE_ESXI_KERNEL=1'];

export class EsxiHost {
  readonly root: EsxiRoot;
  readonly deny: string[];
  private mounted = false;

  constructor(
    readonly cluster: Cluster,
    opts: EsxiHostOptions,
  ) {
    this.deny = opts.profile ? profileCalls(opts.profile) : [];
    this.root = esxiRoot({ bundle: opts.bundle });
    if (opts.scratch) {
      // at the datastore directory itself: mount(8) would follow the root's /scratch link
      const m = spawnSync('mount', ['--bind', opts.scratch, this.root.at(SCRATCH_VOLUME)], { encoding: 'utf8' });
      if (m.status !== 0) throw new Error(`mount --bind ${opts.scratch} as the root's /scratch failed: ${m.stderr}`);
      this.mounted = true;
      mkdirSync(this.root.at('/scratch/reroute'), { recursive: true });
    }
    writeFileSync(this.root.at(HOST_CONFIG), JSON.stringify(opts.config, null, 2), { mode: 0o600, flag: 'w' });
    if (opts.jitless) writeFileSync(this.root.at('/scratch/reroute/install.conf'), 'jitless=1\n');
  }

  /** The argv that runs the launcher with `args` in the host namespace, in the root, under the profile (or `deny`). */
  argv(args: string[], deny = this.deny): string[] {
    return [
      'ip', 'netns', 'exec', this.cluster.ns('host'),
      'env', '-i', ...CRON_ENV,
      ...userworldArgv(deny, { root: this.root.root, netnsOnly: true }),
      HOST_LAUNCHER, '--config', HOST_CONFIG, ...args,
    ];
  }

  /** Run the launcher; killed (its process group) after `timeoutMs`. `strace` names a file for `strace -f`'s output. */
  run(args: string[], opts: { timeoutMs?: number; deny?: string[]; strace?: string } = {}): Promise<RunResult> {
    const argv = this.argv(args, opts.deny);
    const full = opts.strace ? [...argv.slice(0, 4), 'strace', '-f', '-qq', '-v', '-s', '256', '-o', opts.strace, ...argv.slice(4)] : argv;
    const t0 = Date.now();
    return new Promise((resolve) => {
      const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, opts.timeoutMs ?? 60_000);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
      });
    });
  }

  /** The same, waiting (for scripts that run a command between their own steps). */
  runSync(args: string[], opts: { timeoutMs?: number; deny?: string[] } = {}): { status: number | null; stdout: string; stderr: string } {
    const argv = this.argv(args, opts.deny);
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** crond's pid, from the file `reroute install` restarts it by (null when there is none). */
  crondPid(): number | null {
    try {
      const pid = Number(readFileSync(this.at('/var/run/crond.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 1 ? pid : null;
    } catch {
      return null;
    }
  }

  /** `reroute install` as the VIB's init script runs it: crontab, local.sh, and busybox crond (re)started in the root. */
  async install(): Promise<RunResult> {
    const r = await this.run(['install'], { timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`reroute install in the ESXi root failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    return r;
  }

  /** The gateway the fake ESXi table has for the NFS VIP's /32 (what `esxcfg-route -l` would show), or null. */
  readFakeRoute(vip = '192.168.33.2'): string | null {
    return this.root.readFakeState().routes.find((r) => r.network === vip && r.netmask === '255.255.255.255')?.gateway ?? null;
  }

  /** A file of the agent (a host path such as /var/run/reroute/record.json), from outside the root. */
  at(path: string): string {
    return this.root.at(path);
  }

  get record(): string {
    return this.at(join(HOST_RUN, 'record.json'));
  }

  get log(): string {
    return this.at('/scratch/log/scvm_failure.log');
  }

  readLog(): string {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '';
  }

  /** The runner's journal (alike passes folded into one entry with `repeats`). */
  journal(): { at: number; local: string; reason: string; change: boolean; switched?: string; to: string; repeats?: number; until?: number }[] {
    try {
      return (JSON.parse(readFileSync(this.record, 'utf8')) as { engine: { journal: ReturnType<EsxiHost['journal']> } }).engine.journal;
    } catch {
      return [];
    }
  }

  passes(): number {
    return this.journal().reduce((n, j) => n + (j.repeats ?? 1), 0);
  }

  /** Every process whose root is this host's (crond, its jobs, the agent's processes, the fakes). */
  pids(): number[] {
    const out: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readlinkSync(`/proc/${d}/root`) === this.root.root) out.push(Number(d));
      } catch {
        // gone, or not ours to read
      }
    }
    return out;
  }

  /** Processes of the root whose command line contains `text`. */
  pidsRunning(text: string): number[] {
    return this.pids().filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    });
  }

  /** Kill everything running in the root (crond first, so it starts nothing more), then remove it. */
  stop(): void {
    for (let round = 0; round < 5; round++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      spawnSync('sleep', ['0.1']);
    }
  }

  cleanup(): void {
    this.stop();
    if (this.mounted) spawnSync('umount', [this.root.at(SCRATCH_VOLUME)]);
    this.mounted = false;
    this.root.cleanup();
  }
}
