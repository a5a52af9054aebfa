// What scripts/bench-footprint reads from the kernel: a cgroup v2 directory's CPU, a thread's wakes (schedstat), and
// the processes started under a set of processes, counted exactly with perf's task:task_newtask tracepoint where perf
// runs, else by sampling /proc (a lower bound: a process living less than the sampling period can be missed).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup (v2 only) or /sys/fs/cgroup/unified (hybrid); null without. */
export function cgroup2Root(): string | null {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const m = mounts.map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
  return m ? m[1]! : null;
}

/** A cgroup v2 directory of our own: processes moved into it, its CPU (cpu.stat, kept without the cpu controller). */
export class Cgroup {
  constructor(readonly dir: string) {
    mkdirSync(dir);
  }

  add(pid: number): void {
    writeFileSync(join(this.dir, 'cgroup.procs'), String(pid));
  }

  /** The processes in it now (thread group ids). */
  procs(): number[] {
    return readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }

  /** CPU its processes have used, living and dead, since it was made: seconds. */
  cpuSec(): number {
    const m = /^usage_usec (\d+)$/m.exec(readFileSync(join(this.dir, 'cpu.stat'), 'utf8'));
    return m ? Number(m[1]) / 1e6 : 0;
  }

  /** Remove it; a process still in it is killed first (cgroup.kill). */
  remove(): void {
    try {
      if (existsSync(join(this.dir, 'cgroup.kill'))) writeFileSync(join(this.dir, 'cgroup.kill'), '1');
      for (let i = 0; i < 20 && this.procs().length > 0; i++) spawnSync('sleep', ['0.05']);
      rmdirSync(this.dir);
    } catch {
      // gone already, or a process outlived the kill: the directory stays empty of ours
    }
  }
}

/**
 * Times a thread has been put on a CPU (the third field of /proc/<pid>/schedstat: "timeslices run on this cpu"), for
 * the process's main thread; null once it is gone. Every wake counts once, and so does every return after preemption.
 */
export function timeslices(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ')[2]);
  } catch {
    return null;
  }
}

/** A process started under the watched ones: its parent's command, and what it ran (its execs, in order), if it did. */
export interface Started {
  pid: number;
  parent: string;
  execs: string[];
}

export interface ForkCounter {
  /** exact (perf's tracepoint) or a lower bound (sampling) */
  exact: boolean;
  /** Stop counting; the processes started under `roots` (and under those, and so on) since start. */
  stop(): Promise<Started[]>;
}

const CLONE_THREAD = 0x10000;

/** perf, where it runs here and can record a tracepoint system-wide (root, perf_event_paranoid, tracefs). */
function perfWorks(dir: string): boolean {
  const out = join(dir, 'perf-check.data');
  const r = spawnSync('perf', ['record', '-q', '-e', 'task:task_newtask', '-a', '-o', out, '--', 'true'], { encoding: 'utf8', timeout: 30_000 });
  rmSync(out, { force: true });
  return r.status === 0;
}

/**
 * Count every process started by `roots()` (read once, when counting starts: crond and what it runs) or by a process
 * started under them. With perf: every task:task_newtask event system-wide, a new thread group (no CLONE_THREAD) whose
 * parent is ours is ours; sched:sched_process_exec says what it ran. Without: `roots` and their descendants sampled
 * from /proc every 50 ms (the cgroup's cgroup.procs).
 */
export async function countForks(dir: string, roots: () => number[]): Promise<ForkCounter> {
  if (perfWorks(dir)) return perfForks(dir, roots);
  return sampledForks(roots);
}

async function perfForks(dir: string, roots: () => number[]): Promise<ForkCounter> {
  const data = join(dir, 'perf-forks.data');
  const perf: ChildProcess = spawn('perf', ['record', '-q', '-e', 'task:task_newtask', '-e', 'sched:sched_process_exec', '-a', '-o', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  perf.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  // perf writes its header once its events are open; the roots are read after that, so nothing falls between
  for (let i = 0; i < 100 && !existsSync(data); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  const ours = new Set(roots());
  return {
    exact: true,
    async stop() {
      const ended = new Promise((r) => perf.once('exit', r));
      perf.kill('SIGINT');
      await ended;
      const s = spawnSync('perf', ['script', '-i', data, '-F', 'pid,comm,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 30 });
      rmSync(data, { force: true });
      rmSync(`${data}.old`, { force: true });
      if (s.status !== 0) throw new Error(`perf script failed: ${s.stderr.trim() || stderr.trim()}`);
      const started = new Map<number, Started>();
      for (const line of s.stdout.split('\n')) {
        // "       MainThread 32282        task:task_newtask: pid=916 comm=MainThread clone_flags=1200000 oom_score_adj=0"
        const fork = /^\s*(.*?)\s+(\d+)\s+task:task_newtask: pid=(\d+) .*clone_flags=([0-9a-f]+)/.exec(line);
        if (fork) {
          const [, comm, parent, child, flags] = fork;
          if (ours.has(Number(parent)) && (parseInt(flags!, 16) & CLONE_THREAD) === 0) {
            ours.add(Number(child));
            started.set(Number(child), { pid: Number(child), parent: comm!, execs: [] });
          }
          continue;
        }
        const exec = /^\s*.*?\s+(\d+)\s+sched:sched_process_exec: filename=(\S+)/.exec(line);
        const p = exec ? started.get(Number(exec[1])) : undefined;
        p?.execs.push(exec![2]!);
      }
      return [...started.values()];
    },
  };
}

function sampledForks(roots: () => number[]): ForkCounter {
  const seen = new Set(roots());
  const started = new Map<number, Started>();
  const commOf = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  const timer = setInterval(() => {
    for (const pid of roots()) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      started.set(pid, { pid, parent: '?', execs: [commOf(pid)] });
    }
  }, 50);
  return {
    exact: false,
    stop: () => {
      clearInterval(timer);
      return Promise.resolve([...started.values()]);
    },
  };
}

/** What woke a thread, told from the kernel's stack at the wake (first rule whose frame appears). */
const WAKE_CAUSES: [RegExp, string][] = [
  [/\bhrtimer_wakeup\b/, 'a timer ran out (the epoll wait of a setTimeout)'],
  [/\braw_(rcv|local_deliver)\b|\bicmp_/, 'a packet on the raw ICMP socket (an echo reply)'],
  [/\btcp_/, 'TCP (the API, the NFS data-path check)'],
  [/\budp_|\bunix_/, 'a datagram or unix socket (syslog, DNS)'],
  [/\beventfd_(signal|write)\b|\bio_uring|\bio_cqring/, 'an eventfd: a thread-pool or io_uring job done (files)'],
  [/\bpipe_write\b/, "a pipe: a child's output"],
  [/\bdo_notify_parent\b|\bsignal_wake_up/, 'a signal (a child ended)'],
  [/\bfutex_wake\b/, 'a futex: another thread of the process (V8, the pool)'],
];

/**
 * Who wakes the main thread of `pid`, over `seconds`: perf's sched:sched_waking events for it, with kernel stacks
 * (taken in the waker's context, before a wake is handed to another CPU), counted by cause. Null where perf fails.
 */
export function wakeCauses(pid: number, seconds: number, dir: string): Map<string, number> | null {
  const data = join(dir, 'perf-wakes.data');
  const r = spawnSync('perf', ['record', '-q', '-e', 'sched:sched_waking', '--filter', `pid == ${pid}`, '-g', '-a', '-o', data, '--', 'sleep', String(seconds)], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  if (r.status !== 0) return null;
  const s = spawnSync('perf', ['script', '-i', data, '-F', 'comm,event,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  rmSync(data, { force: true });
  if (s.status !== 0) return null;
  const causes = new Map<string, number>();
  for (const event of s.stdout.split(/\n\s*\n/)) {
    if (!event.includes('sched_waking')) continue;
    const waker = event.trim().split(/\s+/)[0] ?? '?';
    const rule = WAKE_CAUSES.find(([re]) => re.test(event));
    const cause = rule ? rule[1] : `other (woken by ${waker})`;
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
  }
  return causes;
}
