// scripts/bench-fleet: the cluster's API load when every host passes every second (issue 18 item 5). 255 virtual
// hosts in this process run the real pass every second (tests/support/bench-fleet-host.ts) against 255 ZBS emulators
// in another process (one per SCVM manage IP, all on loopback). Timeline: warm-up, steady window, a slowdown where
// every answer is late past api.requestTimeoutMs, recovery. Three figures against the issue's goals:
// requests a second per host in steady state, the peak of requests in flight per host in the slowdown, and the time
// for the load to come back to its steady rate after it. The one benchmark not run "as installed" (255 agent
// processes do not fit on the machine): each virtual host is a pass loop of its own, not a process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACK_DEFINITION, BACK_TOLERANCE, backAfterSec, mean, peakOpen, percentile, perSecond, windowMeans } from './bench-fleet-figures';
import { fleetAddresses, FleetLog, PHASES, Timeline, VirtualHost, type Phase } from './bench-fleet-host';
import { refuseOutsideLoopback } from './netns';
import type { EmuRecord } from './zbs-emulator';

const ROOT = join(__dirname, '..', '..');
const CREDENTIALS = { username: 'admin', password: 'secret' };

interface Flags {
  hosts: number;
  scvms: number;
  warmupSec: number;
  steadySec: number;
  slowSec: number;
  recoverySec: number;
  latencyMs: number;
}

const DEFAULTS: Flags = { hosts: 255, scvms: 255, warmupSec: 20, steadySec: 60, slowSec: 30, recoverySec: 30, latencyMs: 3000 };
const FLAG_NAMES: Record<string, keyof Flags> = {
  '--hosts': 'hosts',
  '--scvms': 'scvms',
  '--warmup-sec': 'warmupSec',
  '--steady-sec': 'steadySec',
  '--slow-sec': 'slowSec',
  '--recovery-sec': 'recoverySec',
  '--latency-ms': 'latencyMs',
};
const USAGE =
  'usage: scripts/bench-fleet [--hosts 255] [--scvms 255] [--warmup-sec 20] [--steady-sec 60] [--slow-sec 30] [--recovery-sec 30] [--latency-ms 3000] [--keep]';

function parseFlags(argv: string[]): Flags {
  const flags = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i += 2) {
    const key = FLAG_NAMES[argv[i]!];
    const value = Number(argv[i + 1]);
    if (!key) throw new Error(`unknown argument "${argv[i]}"\n${USAGE}`);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${argv[i]} wants a positive whole number, got "${argv[i + 1]}"`);
    flags[key] = value;
  }
  if (flags.scvms < 2 || flags.scvms > 255) throw new Error(`--scvms wants 2..255 (manage IPs 127.11.0.1-N), got ${flags.scvms}`);
  if (flags.hosts > flags.scvms) throw new Error(`--hosts wants at most --scvms (${flags.scvms}): host i's local SCVM is SCVM i`);
  if (flags.recoverySec < 5) throw new Error('--recovery-sec wants at least 5 (the sliding window of "back to baseline")');
  return flags;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The emulators' process: one emulator per SCVM manage IP, all on one port. Resolves with the port once all listen. */
function startEmulators(n: number, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const sessions = Array.from({ length: n }, (_, k) => {
    const a = fleetAddresses(k + 1);
    return { uuid: a.uuid, ip: a.dataIp, alive: true };
  });
  const stateFile = join(dir, 'emulator-state.json');
  writeFileSync(stateFile, JSON.stringify({ sessions }));
  const hosts = `${fleetAddresses(1).manageIp}-${n}`;
  for (let k = 1; k <= n; k++) refuseOutsideLoopback(fleetAddresses(k).manageIp);
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'zbs-emulator'), '--hosts', hosts, '--port', '0', '--state', stateFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the emulators did not all listen within 60 s: ${out.slice(-200)}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n').filter((l) => l.startsWith('listening on '));
      if (lines.length === n) {
        clearTimeout(timer);
        resolve({ child, port: Number(/:(\d+)$/.exec(lines[0]!)![1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulators' process exited ${code} before listening: ${out.slice(-200)}`));
    });
  });
}

/** One control call to every emulator at once; resolves with their answers once all have answered. */
async function controlAll(n: number, port: number, path: string, method: 'GET' | 'POST', body?: unknown): Promise<unknown[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const ip = fleetAddresses(k + 1).manageIp;
      refuseOutsideLoopback(ip);
      const res = await fetch(`http://${ip}:${port}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      if (!res.ok) throw new Error(`control ${method} ${path} at ${ip}: HTTP ${res.status}`);
      return res.json() as Promise<unknown>;
    }),
  );
}

/** CPU time of a process so far (user + system), ms: this one's own, or another's from /proc. */
function cpuMsOf(pid: number | null): number {
  if (pid === null) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks of 10 ms (USER_HZ 100)
}

interface Mark {
  at: number;
  benchCpuMs: number;
  emuCpuMs: number;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // --keep: leave the work directory (every host's config, state files, the shared log of warnings) for a look
  const keep = argv.includes('--keep');
  const flags = parseFlags(argv.filter((a) => a !== '--keep'));
  const n = flags.hosts;
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'reroute-bench-fleet-'));
  let emulators: ChildProcess | null = null;
  const hosts: VirtualHost[] = [];
  const onSignal = () => {
    emulators?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const started = await startEmulators(flags.scvms, dir);
    emulators = started.child;
    const emuPid = emulators.pid!;
    const timeline = new Timeline();
    const cluster = timeline.inFlight();
    const log = new FleetLog(join(dir, 'fleet.log'), timeline);
    for (let i = 1; i <= n; i++) {
      const dirOfHost = join(dir, `host-${i}`);
      const apiPort = started.port;
      hosts.push(new VirtualHost({ index: i, scvmCount: flags.scvms, apiPort, credentials: CREDENTIALS, dir: dirOfHost, everyMs: 1000, timeline, log, cluster }));
    }
    const config = hosts[0]!.config;
    const total = flags.warmupSec + flags.steadySec + flags.slowSec + flags.recoverySec;
    process.stdout.write(
      `bench-fleet: ${n} virtual hosts in one process, ${flags.scvms} emulated SCVMs in another (port ${started.port}); ` +
        `warm-up ${flags.warmupSec} s, steady ${flags.steadySec} s, slowdown ${flags.slowSec} s, recovery ${flags.recoverySec} s (${total} s)\n`,
    );
    const mark = (): Mark => ({ at: Date.now(), benchCpuMs: cpuMsOf(null), emuCpuMs: cpuMsOf(emuPid) });
    const marks: Partial<Record<Phase | 'end', Mark>> = { warmup: mark() };
    // Hosts start at random moments of the warm-up's first half, as a cluster's hosts do not boot together: the phases
    // of their heartbeats and lists are spread as in a cluster that has been running (the slowdown may line them up).
    for (const h of hosts) h.start(Math.random() * (flags.warmupSec * 500));

    await sleep(flags.warmupSec * 1000);
    timeline.enter('steady');
    marks.steady = mark();
    await sleep(flags.steadySec * 1000);

    timeline.enter('slowdown');
    marks.slowdown = mark();
    await controlAll(flags.scvms, started.port, '/_emu/state', 'POST', { faults: { all: { latencyMs: flags.latencyMs } } });
    const slowSetMs = Date.now() - marks.slowdown.at;
    await sleep(marks.slowdown.at + flags.slowSec * 1000 - Date.now());
    const clearFrom = Date.now();
    await controlAll(flags.scvms, started.port, '/_emu/state', 'POST', { faults: { all: null } });
    timeline.enter('recovery');
    marks.recovery = mark();
    const clearMs = marks.recovery.at - clearFrom;
    await sleep(flags.recoverySec * 1000);
    marks.end = mark();

    await Promise.all(hosts.map((h) => h.stop()));
    const records = ((await controlAll(flags.scvms, started.port, '/_emu/records', 'GET')) as { all: EmuRecord[] }[]).flatMap((r) => r.all);
    await log.close();

    report({ flags, n, config, records, marks: marks as Record<Phase | 'end', Mark>, hosts, cluster, log, slowSetMs, clearMs });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(hosts.map((h) => h.stop()));
    emulators?.kill('SIGTERM');
    if (keep) process.stdout.write(`work directory kept: ${dir} (fleet.log: every warning and error, by host)\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

interface Results {
  flags: Flags;
  n: number;
  config: VirtualHost['config'];
  records: EmuRecord[];
  marks: Record<Phase | 'end', Mark>;
  hosts: VirtualHost[];
  cluster: ReturnType<Timeline['inFlight']>;
  log: FleetLog;
  slowSetMs: number;
  clearMs: number;
}

function report(r: Results): void {
  const { flags, n, config, records, marks, hosts, cluster, log } = r;
  const api = config.api;
  const out: string[] = [];
  const span = (p: Phase) => {
    const next = PHASES[PHASES.indexOf(p) + 1] ?? 'end';
    return { from: marks[p].at, to: marks[next].at };
  };
  const seconds = (p: Phase) => (span(p).to - span(p).from) / 1000;
  const arrived = (p: Phase, endpoint?: string) =>
    records.filter((q) => q.at >= span(p).from && q.at < span(p).to && (endpoint === undefined || q.endpoint === endpoint)).length;
  const perHostRate = (p: Phase, endpoint?: string) => arrived(p, endpoint) / seconds(p) / n;

  // 1. steady state
  const steady = span('steady');
  const steadySeries = perSecond(records, steady.from, steady.to);
  const baseline = mean(steadySeries);
  const steadyWindows = windowMeans(steadySeries).map((w) => (w / baseline) * 100);
  const steadyRate = perHostRate('steady');
  const clientSteady = hosts.reduce((s, h) => s + h.inFlight.started.steady, 0) / seconds('steady') / n;
  out.push(
    '',
    `1. requests a second at the API in steady state, per host: ${f2(steadyRate)} (goal <= 0.5: ${met(steadyRate <= 0.5)})`,
    `   counted at the emulators over ${f1(seconds('steady'))} s: ${arrived('steady')} requests, ${f1(baseline)} a second for the cluster` +
      ` (the hosts counted ${f2(clientSteady)} a second each on their side)`,
    `   by endpoint, per host a second: session list ${f2(perHostRate('steady', 'sessions'))} (pace api.sessionsEverySec ${api.sessionsEverySec} s), ` +
      `heartbeat ${f2(perHostRate('steady', 'heartbeat'))} (api.heartbeatEverySec ${api.heartbeatEverySec} s), ` +
      `switches ${f2(perHostRate('steady', 'switches'))}, refresh ${f2(perHostRate('steady', 'refresh'))}, login ${f2(perHostRate('steady', 'login'))}`,
  );

  // 2. slowdown
  const slow = span('slowdown');
  const peaks = hosts.map((h) => h.inFlight.peak.slowdown);
  const worst = Math.max(...peaks);
  const histogram = [...new Set(peaks)].sort((a, b) => a - b).map((p) => `${peaks.filter((x) => x === p).length} hosts at ${p}`);
  const emuPeak = peakOpen(records, slow.from, slow.to);
  out.push(
    '',
    `2. peak requests in flight per host during the slowdown (every answer ${flags.latencyMs} ms late, api.requestTimeoutMs ${api.requestTimeoutMs}): ` +
      `${worst} (goal <= 2: ${met(worst <= 2)})`,
    `   counted by each host at its client (from request() until its promise settles): ${histogram.join(', ')}`,
    `   cluster total at once: ${cluster.peak.slowdown} counted by the hosts, ${emuPeak} open at the emulators (bound: 2 x ${n} hosts = ${2 * n})`,
    `   load in the slowdown: ${f2(perHostRate('slowdown'))} requests a second per host at the emulators ` +
      `(session list ${f2(perHostRate('slowdown', 'sessions'))}, heartbeat ${f2(perHostRate('slowdown', 'heartbeat'))}, ` +
      `switches ${f2(perHostRate('slowdown', 'switches'))}, login ${f2(perHostRate('slowdown', 'login'))})`,
    `   the fault reached all ${flags.scvms} emulators within ${r.slowSetMs} ms of the slowdown's start and was cleared from all within ${r.clearMs} ms`,
  );

  // 3. recovery
  const rec = span('recovery');
  const after = perSecond(records, rec.from, rec.to);
  const back = backAfterSec(after, baseline);
  const steadyWithin = steadyWindows.every((w) => Math.abs(w / 100 - 1) <= BACK_TOLERANCE);
  const slowSeries = perSecond(records, slow.from, slow.to);
  out.push(
    '',
    `3. time for the load to return to baseline after the slowdown: ${back === null ? `not back within ${flags.recoverySec} s` : `${back} s`} ` +
      `(goal <= 10 s: ${steadyWithin ? met(back !== null && back <= 10) : 'not judged, see below'})`,
    `   ${BACK_DEFINITION}; baseline ${f1(baseline)} requests a second (the steady window's mean; ` +
      `its own 5 s windows ran from ${f1(Math.min(...steadyWindows))} to ${f1(Math.max(...steadyWindows))} % of it)`,
    `   requests a second in the slowdown: ${slowSeries.join(' ')}`,
    `   requests a second after it:        ${after.join(' ')}`,
  );
  if (!steadyWithin) {
    out.push(
      `   NOT JUDGED: the steady window's own 5 s windows left the 20 % band, so "back" cannot be told from the noise of this run`,
    );
  }

  // what the bench itself achieved
  out.push('', 'what the bench achieved (a machine that cannot keep up would show here first):');
  for (const p of PHASES) {
    const ps = hosts.flatMap((h) => h.passes.filter((s) => s.phase === p));
    const late = ps.map((s) => s.lateMs);
    const dur = ps.map((s) => s.durationMs);
    const errors = ps.filter((s) => s.error !== null);
    const m0 = marks[p];
    const m1 = marks[PHASES[PHASES.indexOf(p) + 1] ?? 'end'];
    const wall = m1.at - m0.at;
    const benchCpu = m1.benchCpuMs - m0.benchCpuMs;
    out.push(
      `   ${p.padEnd(9)} ${f1(ps.length / seconds(p))} passes a second (of ${n}); started late p50 ${f1(percentile(late, 50))} ` +
        `p99 ${f1(percentile(late, 99))} max ${f1(Math.max(...late))} ms; pass p50 ${f1(percentile(dur, 50))} p99 ${f1(percentile(dur, 99))} ms; ` +
        `CPU bench ${f1((benchCpu / wall) * 100)} % of a core (${f1(benchCpu / ps.length)} ms a pass), ` +
        `emulators ${f1(((m1.emuCpuMs - m0.emuCpuMs) / wall) * 100)} %; log ${log.counts[p].warn} warnings, ${log.counts[p].error} errors` +
        (errors.length ? `; ${errors.length} passes failed (${errors[0]!.error})` : ''),
    );
  }
  const steadyPasses = hosts.reduce((k, h) => k + h.passes.filter((s) => s.phase === 'steady').length, 0) / seconds('steady');
  if (steadyPasses < 0.95 * n) {
    out.push(
      `   THE MACHINE LIMITED THIS RUN: ${f1(steadyPasses)} passes a second in steady state where ${n} hosts want ${n}; each host passed ` +
        `about every ${f1(n / steadyPasses)} s, not every 1 s. Fewer hosts of the same cluster (--hosts 64 --scvms ${flags.scvms}) pass on time.`,
    );
  }
  out.push(
    '',
    `conditions: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at the end;`,
    `   ${n} virtual hosts, a pass every 1 s each at a random offset; ${flags.scvms} SCVMs, every session alive, every SCVM answering ICMP; ` +
      `warm-up ${flags.warmupSec} s, steady ${flags.steadySec} s, slowdown ${flags.slowSec} s, recovery ${flags.recoverySec} s;`,
    `   production defaults: api.sessionsEverySec ${api.sessionsEverySec}, heartbeatEverySec ${api.heartbeatEverySec}, requestTimeoutMs ${api.requestTimeoutMs}, ` +
      `budgetMs ${api.budgetMs}, hedgeFloorMs ${api.hedgeFloorMs}, hedgeCeilingMs ${api.hedgeCeilingMs}, retryTokens ${api.retryTokens}, ` +
      `retryRefillSec ${api.retryRefillSec}, passDeadlineMs ${config.passDeadlineMs};`,
    '   not as installed: every virtual host is a pass loop in one process (its own config, state files, ZBS link, route in memory), ' +
      'not a process of its own; 255 agent processes do not fit on this machine.',
    '',
  );
  process.stdout.write(out.join('\n'));
}
