// scripts/bench-footprint: what the agent as installed takes from its host in steady state, at the installed default
// (a pass a second, one process a minute): the CPU of all its processes together, the largest RSS of one, and the
// bytes that reach the persistent disk. The persistent paths (config, state file, log) sit on an ext4 image with
// default mount options on a loop device, whose sector count is what reached the disk (/sys/block/loopN/stat); the
// RAM paths (record, locks) on the machine's own file system, as on a host they sit on a RAM disk.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, ensureBuilt } from './cluster';
import { sleep, waitFor } from './cluster-e2e';
import { install, type Installed } from './installed';
import { netnsUnavailableReason } from './netns';
import { bundleOption } from './bench-failover-run';
import { ensureBundle } from './bundle';
import { undoOnSignal } from './on-signal';

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Sectors written to a block device so far (field 7 of /sys/block/<dev>/stat). */
const sectorsWritten = (dev: string) => Number(readFileSync(`/sys/block/${dev}/stat`, 'utf8').trim().split(/\s+/)[6]);

function statusKb(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** What a process is (its command name) and the CPU it has used so far, s; null once it is gone. */
function processCpu(pid: number): { kind: string; cpuSec: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const kind = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    return { kind, cpuSec: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS }; // utime, stime
  } catch {
    return null;
  }
}

/**
 * For scale, measured beside the agent over the same minutes: a bare process of the same Node binary that wakes every
 * 100 ms (the monitor's `probe.intervalMs`) and does nothing else. What a wake costs varies several-fold on a VM from
 * one hour to the next (BENCHMARKS.md, "Footprint"); the agent's CPU over this floor does not.
 */
function startFloor(cgroup: string): ChildProcess {
  mkdirSync(cgroup);
  const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 100)'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: 'ignore' });
  writeFileSync(join(cgroup, 'cgroup.procs'), String(floor.pid));
  return floor;
}

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--minutes');
  const minutes = i >= 0 ? Number(argv[i + 1]) : 10;
  if (!(minutes > 0)) throw new Error(`--minutes wants a positive number, got "${argv[i + 1]}"`);
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`bench-footprint: needs root and network namespaces (${why})\n`);
    return 2;
  }
  // --bundle [--profile esxi7|strict] [--jitless]: dist/bundle as an ESXi host runs it (bench-failover-run.ts)
  const bundle = bundleOption(argv);
  ensureBuilt();
  if (bundle && !bundle.dir) ensureBundle();
  const cluster = await Cluster.up();
  const scratch = join(cluster.dir, 'scratch');
  const image = join(cluster.dir, 'scratch.ext4');
  const cgroup = `/sys/fs/cgroup/cpuacct/reroute-bench-${process.pid}`;
  const floorCgroup = `${cgroup}-floor`;
  let loop = '';
  let agent: Installed | null = null;
  let floor: ChildProcess | null = null;
  const cleanUp = () => {
    agent?.stop();
    floor?.kill('SIGKILL');
    if (loop) {
      spawnSync('umount', [scratch]);
      spawnSync('losetup', ['-d', loop]);
    }
    for (const g of [cgroup, floorCgroup]) {
      try {
        rmdirSync(g);
      } catch {
        // processes still in it die with the cluster
      }
    }
    cluster.down();
  };
  const forget = undoOnSignal(cleanUp);
  try {
    sh(['truncate', '-s', '64M', image]);
    sh(['mkfs.ext4', '-q', '-F', image]);
    loop = sh(['losetup', '-f', '--show', image]);
    mkdirSync(scratch, { recursive: true });
    sh(['mount', loop, scratch]);
    const dev = loop.replace('/dev/', '');
    agent = install(cluster, { persistent: scratch, ...(bundle ? { bundle } : {}) });
    // every process of the agent descends from crond: a cgroup counts them all, orphans (a killed runner's) included
    mkdirSync(cgroup);
    writeFileSync(join(cgroup, 'cgroup.procs'), String(agent.crond.pid));
    process.stdout.write(`bench-footprint: installed on ${loop} (ext4, default options); warming up 2 min, then ${minutes} min of steady state\n`);
    await waitFor('the first runner', () => agent!.passes() >= 3, 90_000, 200);
    floor = startFloor(floorCgroup);
    await sleep(60_000);
    const usage = (g: string) => Number(readFileSync(join(g, 'cpuacct.usage'), 'utf8'));
    const cpu0 = usage(cgroup);
    const floor0 = usage(floorCgroup);
    const disk0 = sectorsWritten(dev);
    const t0 = Date.now();
    const passes0 = agent.passes();
    let maxRssKb = 0;
    const seenPids = new Set<number>();
    // Where the CPU went: every process of the cgroup sampled each second, by command name. A process that lives less
    // than a second (the guard's sed, a route read's ip) may be missed: what the samples lack is "short-lived".
    const lastCpu = new Map<number, { kind: string; cpuSec: number; at0: number }>();
    const procs = () => readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (const pid of procs()) {
      const c = processCpu(pid);
      if (c) lastCpu.set(pid, { ...c, at0: c.cpuSec });
    }
    let rssSampledAt = 0;
    while (Date.now() - t0 < minutes * 60_000) {
      for (const pid of procs()) {
        const c = processCpu(pid);
        if (c) lastCpu.set(pid, { ...c, at0: lastCpu.get(pid)?.at0 ?? 0 });
      }
      if (Date.now() - rssSampledAt >= 2000) {
        rssSampledAt = Date.now();
        for (const pid of agent.agentPids()) {
          seenPids.add(pid);
          maxRssKb = Math.max(maxRssKb, statusKb(pid, 'VmHWM'));
        }
      }
      await sleep(1000);
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpuSec = (usage(cgroup) - cpu0) / 1e9;
    const floorSec = (usage(floorCgroup) - floor0) / 1e9;
    const floorRssKb = statusKb(floor.pid!, 'VmHWM');
    const bytes = (sectorsWritten(dev) - disk0) * 512;
    const passes = agent.passes() - passes0; // the journal keeps 200 entries; steady passes fold into one
    const byKind = new Map<string, number>();
    for (const c of lastCpu.values()) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + c.cpuSec - c.at0);
    const sampled = [...byKind.values()].reduce((a, b) => a + b, 0);
    const share = (sec: number) => `${sec.toFixed(2)} s (${((100 * sec) / seconds).toFixed(2)} %)`;
    const breakdown = [...byKind]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, sec]) => `    ${kind}: ${share(sec)}`)
      .concat(`    short-lived, not sampled: ${share(Math.max(0, cpuSec - sampled))}`);
    process.stdout.write(
      [
        '',
        `footprint as installed (production defaults, a pass every 1 s, one process a minute, busybox crond), ${(seconds / 60).toFixed(1)} min of steady state:`,
        `  agent: ${bundle ? `the bundle in an ESXi userworld root (fake ESXi commands), profile ${bundle.profile ?? 'none'}${bundle.jitless ? ', --jitless' : ''}${bundle.dir ? `, ${bundle.dir}` : ''}` : 'the checkout (dist/reroute.js on the shipped Node), Linux routes'}`,
        `  CPU, all the agent's processes together: ${cpuSec.toFixed(2)} s = ${((100 * cpuSec) / seconds).toFixed(2)} % of one core (goal at most 1 %)`,
        '  of which, by command (sampled each second; clock ticks, so within 0.01 s a process):',
        ...breakdown,
        `  largest RSS of one process (VmHWM): ${(maxRssKb / 1024).toFixed(1)} MB (goal at most 60 MB); ${seenPids.size} processes seen`,
        `  written to the persistent disk: ${(bytes / 1024).toFixed(1)} KB = ${((bytes / 1024) * (3600 / seconds)).toFixed(1)} KB an hour (goal at most 50 KB an hour)`,
        `  passes: ${passes} in ${seconds.toFixed(0)} s (one a second wanted)`,
        `  for scale, over the same minutes: a bare process of the same Node binary waking every 100 ms, nothing else:`,
        `    ${((100 * floorSec) / seconds).toFixed(2)} % of one core (the agent: ${(cpuSec / floorSec).toFixed(1)} times that), VmHWM ${(floorRssKb / 1024).toFixed(1)} MB`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    forget();
    cleanUp();
  }
}
