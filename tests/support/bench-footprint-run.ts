// scripts/bench-footprint: what the agent as installed takes from its host in steady state, at the installed default
// (a pass a second, one process a minute), beside a bare process of the same Node waking every 100 ms in the same run
// (the floor): the main thread's wakes a second, the processes started a minute, the CPU of all its processes, each
// runner's RSS, and the bytes that reach the persistent disk. crond and everything it starts sit in a cgroup v2
// directory of their own; the persistent paths (config, state file, log) on an ext4 image with default mount options on
// a loop device, whose sector count is what reached the disk (/sys/block/loopN/stat); the RAM paths (record, locks) on
// the machine's own file system, as on a host they sit on a RAM disk.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Cluster, ensureBuilt } from './cluster';
import { sleep, waitFor } from './cluster-e2e';
import { install, type Installed } from './installed';
import { netnsUnavailableReason } from './netns';
import { bundleOption } from './bench-failover-run';
import { ensureBundle } from './bundle';
import { undoOnSignal } from './on-signal';
import { Cgroup, cgroup2Root, countForks, timeslices, wakeCauses, type Started } from './footprint-probes';

/** How often every process of the agent's cgroup is looked at (CPU by command, the runners' wakes and RSS). */
const SAMPLE_MS = 250;

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

/** A runner: the process cron's minute line or a guard starts, `... loop --every N` (its launcher, then Node). */
function isRunner(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('loop') && !argv.some((x) => x.includes('sleep '));
  } catch {
    return false;
  }
}

/**
 * For scale, measured beside the agent over the same minutes: a bare process of the same Node binary that wakes every
 * 100 ms (the monitor's `probe.intervalMs`) and does nothing else. What a wake costs varies several-fold on a VM from
 * one hour to the next (BENCHMARKS.md, "Footprint"); the agent's CPU over this floor does not.
 */
function startFloor(cgroup: Cgroup): ChildProcess {
  const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 100)'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: 'ignore' });
  cgroup.add(floor.pid!);
  return floor;
}

/** One process of the agent as the samples saw it. */
interface Seen {
  kind: string;
  cpu0: number;
  cpu: number;
  runner: boolean;
  /** the main thread's timeslices when the window began (0 for one started in it), and at its last sample */
  slices0: number;
  slices: number;
  hwmKb: number;
  first: number;
  last: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** What a started process was: the commands it ran (a script, then what it execs), or a fork of its parent that ran none. */
const whatRan = (p: Started) => (p.execs.length > 0 ? p.execs.map((e) => basename(e)).join(' > ') : `${p.parent} (a fork that ran no command)`);

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--minutes');
  const minutes = i >= 0 ? Number(argv[i + 1]) : 5;
  if (!(minutes > 0)) throw new Error(`--minutes wants a positive number, got "${argv[i + 1]}"`);
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`bench-footprint: needs root and network namespaces (${why})\n`);
    return 2;
  }
  const cgroups = cgroup2Root();
  if (!cgroups) {
    process.stderr.write('bench-footprint: needs a cgroup v2 hierarchy (mount -t cgroup2 none /sys/fs/cgroup/unified)\n');
    return 2;
  }
  // --bundle [--profile esxi7|strict] [--jitless] [--bundle-dir D]: the bundle as an ESXi host runs it (bench-failover-run.ts)
  const bundle = bundleOption(argv);
  ensureBuilt();
  if (bundle && !bundle.dir) ensureBundle();
  const cluster = await Cluster.up();
  const scratch = join(cluster.dir, 'scratch');
  const image = join(cluster.dir, 'scratch.ext4');
  let loop = '';
  let agent: Installed | null = null;
  let floor: ChildProcess | null = null;
  let agentGroup: Cgroup | null = null;
  let floorGroup: Cgroup | null = null;
  const cleanUp = () => {
    agent?.stop();
    floor?.kill('SIGKILL');
    agentGroup?.remove();
    floorGroup?.remove();
    if (loop) {
      spawnSync('umount', [scratch]);
      spawnSync('losetup', ['-d', loop]);
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
    // every process of the agent descends from crond: its cgroup holds them all, orphans (a killed runner's) included
    agentGroup = new Cgroup(join(cgroups, `reroute-bench-${process.pid}`));
    agentGroup.add(agent.crond.pid!);
    floorGroup = new Cgroup(join(cgroups, `reroute-bench-${process.pid}-floor`));
    process.stdout.write(`bench-footprint: installed on ${loop} (ext4, default options); warming up (the first runner, then 60 s), then ${minutes} min of steady state\n`);
    await waitFor('the first runner', () => agent!.passes() >= 3, 90_000, 200);
    floor = startFloor(floorGroup);
    await sleep(60_000);

    const agentCg = agentGroup;
    const forks = await countForks(cluster.dir, () => agentCg.procs());
    const seen = new Map<number, Seen>();
    const sample = (now: number, atStart: boolean) => {
      for (const pid of agentCg.procs()) {
        const c = processCpu(pid);
        if (!c) continue;
        let s = seen.get(pid);
        if (!s) {
          s = { kind: c.kind, cpu0: atStart ? c.cpuSec : 0, cpu: c.cpuSec, runner: false, slices0: 0, slices: 0, hwmKb: 0, first: now, last: now };
          seen.set(pid, s);
        }
        // a runner's launcher (sh) execs Node: look again when the command name changes
        if (!s.runner && (s.kind !== c.kind || s.first === now)) s.runner = isRunner(pid);
        s.kind = c.kind;
        s.cpu = c.cpuSec;
        s.last = now;
        if (s.runner) {
          const slices = timeslices(pid);
          if (slices !== null) {
            if (atStart) s.slices0 = slices;
            s.slices = slices;
          }
          s.hwmKb = Math.max(s.hwmKb, statusKb(pid, 'VmHWM'));
        }
      }
    };
    const t0 = Date.now();
    const cpu0 = agentCg.cpuSec();
    const floor0 = floorGroup.cpuSec();
    const floorSlices0 = timeslices(floor.pid!) ?? 0;
    const disk0 = sectorsWritten(dev);
    const passes0 = agent.passes();
    sample(t0, true);
    while (Date.now() - t0 < minutes * 60_000) {
      await sleep(SAMPLE_MS);
      sample(Date.now(), false);
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpuSec = agentCg.cpuSec() - cpu0;
    const floorSec = floorGroup.cpuSec() - floor0;
    const floorWakes = ((timeslices(floor.pid!) ?? 0) - floorSlices0) / seconds;
    const floorRssKb = statusKb(floor.pid!, 'VmHWM');
    const started = await forks.stop();
    const bytes = (sectorsWritten(dev) - disk0) * 512;
    const passes = agent.passes() - passes0; // the journal keeps 200 entries; steady passes fold into one

    const runners = [...seen.values()].filter((s) => s.runner);
    const wakes = runners.reduce((n, s) => n + s.slices - s.slices0, 0) / seconds;
    // RSS: each runner's peak (VmHWM) at its last sample, for those seen 30 s or more (most of their minute)
    const rss = runners.filter((s) => s.last - s.first >= 30_000).map((s) => s.hwmKb / 1024);
    const runnerPids = new Set([...seen].filter(([, s]) => s.runner).map(([pid]) => pid));
    const others = started.filter((p) => !runnerPids.has(p.pid));
    const perMinute = (n: number) => (n * 60) / seconds;
    const byCommand = new Map<string, number>();
    for (const p of others) byCommand.set(whatRan(p), (byCommand.get(whatRan(p)) ?? 0) + 1);
    const byKind = new Map<string, number>();
    for (const s of seen.values()) byKind.set(s.kind, (byKind.get(s.kind) ?? 0) + s.cpu - s.cpu0);
    const sampled = [...byKind.values()].reduce((a, b) => a + b, 0);
    const pct = (sec: number) => (100 * sec) / seconds;
    const share = (sec: number) => `${sec.toFixed(2)} s (${pct(sec).toFixed(2)} %)`;
    const f = (x: number, d = 2) => x.toFixed(d);
    const figures = {
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
      bundle: bundle ? (bundle.dir ?? 'dist/bundle') : null,
      seconds: Math.round(seconds),
      wakesPerSec: wakes,
      floorWakesPerSec: floorWakes,
      startedPerMin: perMinute(started.length),
      runnersPerMin: perMinute(started.length - others.length),
      othersPerMin: perMinute(others.length),
      forksExact: forks.exact,
      cpuPct: pct(cpuSec),
      floorCpuPct: pct(floorSec),
      overFloorPct: pct(cpuSec - floorSec),
      rssMaxMb: Math.max(...rss),
      rssMedianMb: median(rss),
      floorRssMb: floorRssKb / 1024,
      kbPerHour: (bytes / 1024) * (3600 / seconds),
      passes,
    };
    // --wakers S: after the window (its figures untouched), S seconds of what wakes the runner's main thread
    const w = argv.indexOf('--wakers');
    const wakers: string[] = [];
    if (w >= 0) {
      const secs = Number(argv[w + 1]);
      const runner = [...seen].filter(([pid, s]) => s.runner && timeslices(pid) !== null).sort((a, b) => b[1].first - a[1].first)[0];
      const causes = runner ? wakeCauses(runner[0], secs, cluster.dir) : null;
      if (!causes) wakers.push('  what wakes the runner: not measured (no live runner, or perf cannot record sched:sched_waking here)');
      else {
        const total = [...causes.values()].reduce((a, b) => a + b, 0);
        wakers.push(`  what wakes the runner's main thread (perf sched:sched_waking with kernel stacks, ${secs} s after the window): ${f(total / secs)} a second`);
        for (const [cause, n] of [...causes].sort((a, b) => b[1] - a[1])) wakers.push(`    ${cause}: ${f(n / secs)} a second`);
      }
    }
    process.stdout.write(
      [
        '',
        `footprint as installed (production defaults, a pass every 1 s, one process a minute, busybox crond), ${f(seconds / 60, 1)} min of steady state:`,
        `  agent: ${bundle ? `the bundle in an ESXi userworld root (fake ESXi commands), profile ${bundle.profile ?? 'none'}${bundle.jitless ? ', --jitless' : ''}${bundle.dir ? `, ${bundle.dir}` : ''}` : 'the checkout (dist/reroute.js on the shipped Node), Linux routes'}`,
        `  the runners' main thread: ${f(wakes)} wakes a second (schedstat timeslices, ${runners.length} runners; goal at most 12); the floor's: ${f(floorWakes)}`,
        `  processes started: ${f(figures.startedPerMin)} a minute, ${f(figures.runnersPerMin)} of them runners, ${f(figures.othersPerMin)} besides (goal at most 3)${forks.exact ? ' (perf task:task_newtask, exact)' : ' (sampled every 50 ms: a lower bound)'}`,
        ...[...byCommand].sort((a, b) => b[1] - a[1]).map(([what, n]) => `    ${what}: ${f(perMinute(n))} a minute`),
        `  CPU, all the agent's processes together: ${f(cpuSec)} s = ${f(pct(cpuSec))} % of one core; the floor ${f(pct(floorSec))} %; the agent minus the floor ${f(pct(cpuSec - floorSec))} %`,
        `    by command (sampled every ${SAMPLE_MS} ms; clock ticks, so within 0.01 s a process):`,
        ...[...byKind].sort((a, b) => b[1] - a[1]).map(([kind, sec]) => `    ${kind}: ${share(sec)}`),
        `    short-lived, not sampled: ${share(Math.max(0, cpuSec - sampled))}`,
        `  RSS of a runner (VmHWM, ${rss.length} runners seen 30 s or more): largest ${f(figures.rssMaxMb, 1)} MB, median ${f(figures.rssMedianMb, 1)} MB; the floor ${f(figures.floorRssMb, 1)} MB`,
        `  written to the persistent disk: ${f(bytes / 1024, 1)} KB = ${f(figures.kbPerHour, 1)} KB an hour (goal at most 50 KB an hour)`,
        `  passes: ${passes} in ${f(seconds, 0)} s (one a second wanted)`,
        ...wakers,
        `figures: ${JSON.stringify(figures)}`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    forget();
    cleanUp();
  }
}
