// scripts/syscall-matrix: which system calls the bundle makes, and what each of them failing does. The bundle runs as
// an ESXi host runs it (tests/support/esxi/host.ts: a userworld root in the simulated cluster's host namespace, the
// launcher, cron's environment, production defaults); strace -f records `version`, `probe`, `doctor`, a one-pass
// `loop` and a minute of the runner (`loop --every 1`), keeping the calls of the bundle's own processes only. Then each
// scenario runs again once per call it made, with that one call failing ENOSYS, and its outcome is compared with the
// outcome without: the same, an abort (exit 134 or a signal), or changed (another exit, other output, an error on
// stderr or in the log, a hang). Last, every scenario is traced under the strict profile this gives (every call whose
// failure changed nothing, plus the shimmed ones): calls seen only there are fallbacks, classified the same way on top of
// strict. Writes tests/support/esxi/syscall-matrix.json; --docs rewrites the table in docs/esxi.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/pack/common';
import { Cluster, PLAN, ensureBuilt } from './cluster';
import { ensureBundle } from './bundle';
import { EsxiHost, HOST_RUN, type RunResult } from './esxi/host';
import { bundleCalls } from './esxi/strace';
import { CANNOT_FAIL, MATRIX_FILE, SHIMMED, profileCalls, readMatrix, type Matrix, type MatrixCall } from './esxi/userworld';
import { esxiHostConfig } from './installed';
import { netnsUnavailableReason } from './netns';

type Outcome = MatrixCall['withEnosys'][string];

interface Scenario {
  name: string;
  what: string;
  args: (o: Opts) => string[];
  timeoutMs: (o: Opts) => number;
  /** what must stay the same: a summary of the run (with the host, for the files it wrote) */
  summary: (r: RunResult, host: EsxiHost, before: Snapshot) => unknown;
  /** before each run: the situation the scenario is about */
  prepare?: (host: EsxiHost, cluster: Cluster) => Promise<void>;
  /** after each run: the steady host again (no profile) */
  restore?: (host: EsxiHost, cluster: Cluster) => Promise<void>;
}

interface Opts {
  /** how long the runner scenario runs when a call fails, s */
  runnerSec: number;
  /** how long the traced runner runs, s */
  tracedRunnerSec: number;
  only: string[] | null;
  docs: boolean;
  /** measure again only the calls the last measurement found spare, and new ones */
  recheck: boolean;
}

interface Snapshot {
  passes: number;
  logErrors: number;
}

const errorsIn = (log: string) => log.split('\n').filter((l) => / (ERROR|WARN) /.test(l)).length;

const lastReason = (host: EsxiHost) => host.journal().at(-1)?.reason ?? null;

const LOCAL = PLAN.scvms[0].dataIp;

/** Where the VIP's route is, in the kernel and in the fake ESXi table: on the local SCVM, or moved to a remote one. */
function routeOf(host: EsxiHost, cluster: Cluster): string {
  const where = (gw: string | null | undefined) => (gw === LOCAL ? 'local' : gw ? 'remote' : 'none');
  return `kernel ${where(cluster.hostRoute()[0])}, esxcfg-route ${where(host.readFakeRoute())}`;
}

/**
 * The route back on the local SCVM, as an operator puts it (the automatic way back waits 180 s). A fake ESXi command
 * killed between its change of the kernel's table and of its own leaves them apart: the kernel's is set from the
 * fake's first (the test namespace's table), so the agent, which reads the fake's, sees what NFS traffic does.
 */
async function routeBack(host: EsxiHost, cluster: Cluster): Promise<void> {
  await cluster.heal('scvm-1', 'drop-icmp').catch(() => undefined);
  const fake = host.readFakeRoute();
  if (fake && cluster.hostRoute()[0] !== fake) {
    execFileSync('ip', ['netns', 'exec', cluster.ns('host'), 'ip', 'route', 'replace', `${PLAN.vip}/32`, 'via', fake]);
  }
  if (fake === LOCAL && cluster.hostRoute()[0] === LOCAL) return;
  for (const args of [['route', '--target', LOCAL, '--force'], ['route', '--auto']]) await host.run(args, { deny: [], timeoutMs: 30_000 });
  if (host.readFakeRoute() !== LOCAL || cluster.hostRoute()[0] !== LOCAL) throw new Error(`the route did not go back to ${LOCAL}: ${routeOf(host, cluster)}`);
}

const passSummary = (r: RunResult, host: EsxiHost, before: Snapshot) => ({
  exit: r.status,
  reason: lastReason(host),
  route: routeOf(host, host.cluster),
  newErrors: errorsIn(host.readLog()) - before.logErrors,
});

const SCENARIOS: Scenario[] = [
  { name: 'version', what: '`reroute version`', args: () => ['version'], timeoutMs: () => 20_000, summary: (r) => r.stdout },
  {
    name: 'probe',
    what: '`reroute probe` (the three SCVMs)',
    args: () => ['probe', '--json'],
    timeoutMs: () => 20_000,
    summary: (r) => {
      try {
        return (JSON.parse(r.stdout) as { results: { ip: string; reachable: boolean }[] }).results.map((x) => `${x.ip} ${x.reachable}`);
      } catch {
        return `not JSON: ${r.stdout.slice(0, 80)}`;
      }
    },
  },
  {
    name: 'doctor',
    what: '`reroute doctor` (before install: cron and boot FAIL)',
    args: () => ['doctor', '--json'],
    timeoutMs: () => 60_000,
    summary: (r) => {
      try {
        return (JSON.parse(r.stdout) as { checks: { id: string; status: string }[] }).checks.map((c) => `${c.id} ${c.status}`);
      } catch {
        return `not JSON: ${r.stdout.slice(0, 80)}`;
      }
    },
  },
  {
    name: 'pass',
    what: 'a one-pass `reroute loop` (steady: local SCVM healthy)',
    args: () => ['loop'],
    timeoutMs: () => 30_000,
    summary: passSummary,
  },
  {
    name: 'first-pass',
    what: "a one-pass `reroute loop` on a host just booted (no record, lock or run files, no state file): the agent's files made anew",
    args: () => ['loop'],
    timeoutMs: () => 30_000,
    prepare: async (host) => {
      host.stop();
      rmSync(host.at(HOST_RUN), { recursive: true, force: true });
      rmSync(host.at('/scratch/reroute/state.json'), { force: true });
    },
    summary: passSummary,
  },
  {
    name: 'failover',
    what: 'a one-pass `reroute loop` with the local SCVM not answering ICMP: the route moves (esxcfg-route), the state file is written',
    args: () => ['loop'],
    timeoutMs: () => 30_000,
    prepare: async (_host, cluster) => cluster.fault('scvm-1', 'drop-icmp'),
    restore: routeBack,
    summary: passSummary,
  },
  {
    name: 'runner',
    what: 'the runner, `reroute loop --every 1` (a minute traced; each call failing: --for 8)',
    args: (o) => ['loop', '--every', '1', '--for', String(o.runnerSec)],
    timeoutMs: (o) => (o.runnerSec + 30) * 1000,
    summary: (r, host, before) => ({
      reason: lastReason(host),
      // a pass a second, with a margin for start-up
      passes: host.passes() - before.passes >= Math.max(1, (r.ms / 1000) * 0.7 - 2) ? 'a pass a second' : `${host.passes() - before.passes} passes`,
      newErrors: errorsIn(host.readLog()) - before.logErrors,
    }),
  },
];

/** Notes for the table: what the bundle does when the call fails (read from glibc, libuv and Node where it says). */
const FALLBACK: Record<string, string> = {
  epoll_pwait: 'the shim: `epoll_wait` (libuv passes no signal mask); without the shim libuv aborts (asserts errno == EINTR)',
  epoll_wait: 'none: it is the shim\'s fallback for `epoll_pwait`',
  getrandom: 'the shim: /dev/urandom (getentropy, getrandom); without the shim Node aborts at start (OpenSSL\'s CSPRNG)',
  clone3: 'glibc falls back to `clone` (threads, process spawns)',
  clone: 'none: glibc\'s fallback for `clone3`, and how libuv and busybox start processes',
  io_uring_setup: 'libuv registers its file descriptors with `epoll_ctl` one by one instead of batching them in an io_uring',
  statx: 'libuv falls back to `stat`, `lstat`, `fstat`',
  stat: 'libuv\'s fallback for `statx`',
  lstat: 'libuv\'s fallback for `statx`',
  brk: 'glibc\'s malloc takes its memory with `mmap` instead',
  rseq: 'glibc runs without restartable sequences',
  set_robust_list: 'glibc goes on without a robust futex list (it matters only to a thread that dies holding a lock)',
  set_tid_address: 'glibc goes on (the thread id is read with `gettid` where needed)',
  sched_getaffinity: 'Node and libuv take the number of CPUs from elsewhere (sysconf), or assume one',
  prlimit64: 'Node does not raise its open-file limit',
  sysinfo: 'Node\'s memory figures (os.totalmem, the heap limit\'s default) fall back to defaults',
  readlink: 'the executable\'s path is taken from argv',
  capget: 'Node does not learn its file capabilities (it runs as root anyway)',
  prctl: 'threads keep their default names',
  setsockopt: 'sockets keep their default options',
  shutdown: 'sockets are closed without a half-close first',
  fsync: 'writes are not flushed to the disk before the rename (a power cut right after may lose the last change)',
  getpid: 'process.pid is -38: see the note on calls with no error return',
};

function snapshot(host: EsxiHost): Snapshot {
  return { passes: host.passes(), logErrors: errorsIn(host.readLog()) };
}

function outcomeOf(base: { r: RunResult; summary: unknown }, r: RunResult, summary: unknown): { outcome: Outcome; note: string } {
  if (r.timedOut) return { outcome: 'changed', note: `hung (killed after ${r.ms} ms): ${r.stderr.trim().split('\n')[0] ?? ''}`.slice(0, 160) };
  if (r.signal !== null || (r.status !== null && r.status >= 128)) {
    return { outcome: 'abort', note: `${r.signal ?? `exit ${r.status}`}: ${r.stderr.trim().split('\n')[0] ?? ''}`.slice(0, 160) };
  }
  const diffs: string[] = [];
  if (r.status !== base.r.status) diffs.push(`exit ${r.status} (was ${base.r.status})`);
  if (r.stderr.trim() !== base.r.stderr.trim()) diffs.push(`stderr: ${r.stderr.trim().split('\n')[0]?.slice(0, 120) ?? ''}`);
  if (JSON.stringify(summary) !== JSON.stringify(base.summary)) diffs.push(`output: ${JSON.stringify(summary).slice(0, 160)}`);
  return diffs.length ? { outcome: 'changed', note: diffs.join('; ') } : { outcome: 'same', note: '' };
}

function parseOpts(argv: string[]): Opts {
  const o: Opts = { runnerSec: 8, tracedRunnerSec: 60, only: null, docs: false, recheck: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 3) throw new Error(`${a} wants whole seconds, at least 3`);
      return v;
    };
    if (a === '--runner-seconds') o.runnerSec = num();
    else if (a === '--traced-runner-seconds') o.tracedRunnerSec = num();
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',');
    else if (a === '--docs') o.docs = true;
    else if (a === '--recheck') o.recheck = true;
    else throw new Error(`unknown option ${a}: use --runner-seconds <s>, --traced-runner-seconds <s>, --only <scenario,...>, --recheck, --docs`);
  }
  return o;
}

const say = (line: string) => process.stdout.write(line + '\n');

/** Run the scenarios traced (under `deny`); the calls each made. */
async function trace(host: EsxiHost, scenarios: Scenario[], o: Opts, deny: string[], dir: string): Promise<Map<string, Set<string>>> {
  const used = new Map<string, Set<string>>();
  for (const s of scenarios) {
    const file = join(dir, `${s.name}.trace`);
    const args = s.name === 'runner' ? ['loop', '--every', '1', '--for', String(o.tracedRunnerSec)] : s.args(o);
    await s.prepare?.(host, host.cluster);
    const r = await host.run(args, { deny, strace: file, timeoutMs: s.name === 'runner' ? (o.tracedRunnerSec + 60) * 1000 : 120_000 });
    await s.restore?.(host, host.cluster);
    if (r.timedOut || r.signal) throw new Error(`${s.name} under strace did not finish (${r.signal ?? 'timeout'}): ${r.stderr.slice(0, 300)}`);
    const calls = bundleCalls(readFileSync(file, 'utf8'));
    rmSync(file);
    say(`  traced ${s.name}: exit ${r.status}, ${calls.size} calls`);
    for (const name of calls.keys()) used.set(name, (used.get(name) ?? new Set()).add(s.name));
  }
  return used;
}

/** Each call that `used` names, failing on top of `deny`, in each scenario that made it. */
async function classify(host: EsxiHost, used: Map<string, Set<string>>, o: Opts, deny: string[]): Promise<Map<string, { withEnosys: Record<string, Outcome>; notes: string[] }>> {
  const base = new Map<string, { r: RunResult; summary: unknown }>();
  for (const s of SCENARIOS) {
    if (![...used.values()].some((set) => set.has(s.name))) continue;
    const { r, summary } = await runScenario(host, s, o, deny, s.timeoutMs(o));
    base.set(s.name, { r, summary });
    say(`  baseline ${s.name}: exit ${r.status} in ${r.ms} ms, ${JSON.stringify(summary).slice(0, 120)}${r.stderr ? `, stderr: ${r.stderr.trim().split('\n')[0]}` : ''}`);
  }
  const out = new Map<string, { withEnosys: Record<string, Outcome>; notes: string[] }>();
  for (const [call, scenarios] of [...used].sort(([a], [b]) => a.localeCompare(b))) {
    const row = { withEnosys: {} as Record<string, Outcome>, notes: [] as string[] };
    for (const s of SCENARIOS.filter((x) => scenarios.has(x.name))) {
      // a run that takes far longer than without the call hangs: a few times its usual time, not its worst case
      const usual = base.get(s.name)!.r.ms;
      const timeoutMs = s.name === 'runner' ? usual + 15_000 : Math.max(5000, 5 * usual + 2000);
      let { r, summary } = await runScenario(host, s, o, [...deny, call], timeoutMs);
      let { outcome, note } = outcomeOf(base.get(s.name)!, r, summary);
      if (outcome === 'changed') {
        // once more from a settled host: a change that does not come back was the host's, not the call's
        await settle(host, deny);
        ({ r, summary } = await runScenario(host, s, o, [...deny, call], timeoutMs));
        const again = outcomeOf(base.get(s.name)!, r, summary);
        if (again.outcome === 'same') note = `once, not again: ${note}`;
        ({ outcome } = again);
      }
      row.withEnosys[s.name] = outcome;
      if (note) row.notes.push(`${s.name}: ${note}`);
      if (outcome !== 'same') await settle(host, deny);
    }
    say(`  ${call.padEnd(18)} ${Object.entries(row.withEnosys).map(([k, v]) => `${k} ${v}`).join(', ')}${row.notes.length ? `  (${row.notes.join(' | ')})` : ''}`);
    out.set(call, row);
  }
  return out;
}

/**
 * After a run that went wrong: kill what it left running, and let two clean passes heal the agent's files (a killed
 * pass's lock, a record file it did not write), so the next call's runs start from the same steady host.
 */
async function settle(host: EsxiHost, deny: string[]): Promise<void> {
  host.stop();
  await routeBack(host, host.cluster);
  for (let i = 0; i < 2; i++) await host.run(['loop'], { deny, timeoutMs: 30_000 });
}

/** One run of a scenario: its situation, the run, its summary, the steady host again. */
async function runScenario(host: EsxiHost, s: Scenario, o: Opts, deny: string[], timeoutMs: number): Promise<{ r: RunResult; summary: unknown }> {
  await s.prepare?.(host, host.cluster);
  const before = snapshot(host);
  const r = await host.run(s.args(o), { deny, timeoutMs });
  const summary = s.summary(r, host, before);
  await s.restore?.(host, host.cluster);
  return { r, summary };
}

function verdict(name: string, c: MatrixCall): string {
  const measured = measuredVerdict(c);
  return CANNOT_FAIL.includes(name) ? `${measured}; has no error return (-38 comes back as the value), so never in \`strict\`` : measured;
}

function measuredVerdict(c: MatrixCall): string {
  const outcomes = Object.entries(c.withEnosys);
  const aborts = outcomes.filter(([, v]) => v === 'abort').map(([k]) => k);
  const changed = outcomes.filter(([, v]) => v === 'changed').map(([k]) => k);
  if (aborts.length) return `**fatal**: aborts ${aborts.join(', ')}`;
  if (changed.length) return `**breaks** ${changed.join(', ')}`;
  return 'no effect';
}

/** The table for docs/esxi.md. */
export function matrixTable(m: Matrix): string {
  const rows = Object.entries(m.calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => `| \`${name}\` | ${c.usedBy.join(', ')} | ${verdict(name, c)} | ${c.fallback || ' '} |`);
  return ['| call | made by | failing ENOSYS | what the bundle does without it |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

const DOC = join(ROOT, 'docs', 'esxi.md');
const BEGIN = '<!-- syscall-matrix: begin (scripts/syscall-matrix --docs writes this table) -->';
const END = '<!-- syscall-matrix: end -->';

/** Put the table between the markers in docs/esxi.md. */
function writeDocs(m: Matrix): void {
  const text = readFileSync(DOC, 'utf8');
  const i = text.indexOf(BEGIN);
  const j = text.indexOf(END);
  if (i < 0 || j < i) throw new Error(`docs/esxi.md has no "${BEGIN}" ... "${END}" markers`);
  writeFileSync(DOC, text.slice(0, i + BEGIN.length) + '\n' + matrixTable(m) + '\n' + text.slice(j));
}

export async function matrixMain(argv: string[]): Promise<number> {
  if (argv.includes('--table')) {
    // the notes edited, the measurement kept: rewrite the fallbacks in the file and the table in the docs
    const m = JSON.parse(readFileSync(MATRIX_FILE, 'utf8')) as Matrix;
    for (const [name, c] of Object.entries(m.calls)) c.fallback = FALLBACK[name] ?? '';
    writeFileSync(MATRIX_FILE, JSON.stringify(m, null, 2) + '\n');
    writeDocs(m);
    say(`syscall-matrix: the table of ${m.commit} (${m.date}) written to docs/esxi.md`);
    return 0;
  }
  const o = parseOpts(argv);
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`syscall-matrix: needs root and network namespaces (${why})\n`);
    return 2;
  }
  if (!existsSync('/usr/bin/strace')) {
    process.stderr.write('syscall-matrix: strace is missing: run scripts/install-deps\n');
    return 2;
  }
  ensureBuilt();
  ensureBundle();
  const scenarios = SCENARIOS.filter((s) => o.only === null || o.only.includes(s.name));
  const cluster = await Cluster.up({ flavour: 'esxi' });
  const host = new EsxiHost(cluster, { profile: null, config: esxiHostConfig() });
  const dir = mkdtempSync(join(tmpdir(), 'reroute-matrix-'));
  const onSignal = () => {
    host.cleanup();
    cluster.down();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say('syscall-matrix: tracing the bundle (no profile)');
    const used = await trace(host, scenarios, o, [], dir);
    // --recheck: only the calls strict would deny by the last measurement (it found them spare) and the new ones are
    // failed again; a call it found fatal keeps its row (were it spare now, strict would only deny one call less)
    const before = o.recheck ? readMatrix() : null;
    const carried = before ? [...used.keys()].filter((n) => before.calls[n] && !Object.values(before.calls[n].withEnosys).every((v) => v === 'same')) : [];
    const toClassify = new Map([...used].filter(([n]) => !carried.includes(n)));
    say(`syscall-matrix: ${used.size} calls; ${toClassify.size} failing ENOSYS in turn${carried.length ? ` (${carried.length} fatal at ${before!.commit}: rows carried)` : ''}`);
    const rows = await classify(host, toClassify, o, []);
    for (const n of carried) rows.set(n, { withEnosys: before!.calls[n]!.withEnosys, notes: [] });
    const calls: Matrix['calls'] = {};
    for (const [name, set] of used) {
      const row = rows.get(name)!;
      calls[name] = { usedBy: SCENARIOS.filter((s) => set.has(s.name)).map((s) => s.name), withEnosys: row.withEnosys, fallback: FALLBACK[name] ?? '' };
    }
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const matrix: Matrix = {
      commit,
      date: new Date().toISOString().slice(0, 10),
      scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.name, s.what])),
      calls,
      ...(carried.length ? { carried: { from: before!.commit, calls: carried.sort() } } : {}),
    };

    const strict = profileCalls('strict', matrix);
    say(`syscall-matrix: tracing under strict (${strict.length} calls fail: ${strict.join(' ')})`);
    const underStrict = await trace(host, scenarios, o, strict, dir);
    const fallbacks = new Map([...underStrict].filter(([name]) => !(name in calls)));
    say(`syscall-matrix: ${fallbacks.size} calls made only under strict: ${[...fallbacks.keys()].join(' ') || 'none'}`);
    const fbRows = await classify(host, fallbacks, o, strict);
    for (const [name, set] of fallbacks) {
      calls[name] = {
        usedBy: SCENARIOS.filter((s) => set.has(s.name)).map((s) => `${s.name} (strict)`),
        withEnosys: fbRows.get(name)!.withEnosys,
        fallback: FALLBACK[name] ?? '',
      };
    }
    for (const name of SHIMMED) if (calls[name] && !(calls[name].fallback)) calls[name].fallback = FALLBACK[name] ?? '';
    writeFileSync(MATRIX_FILE, JSON.stringify(matrix, null, 2) + '\n');
    say(`syscall-matrix: wrote ${MATRIX_FILE}`);
    if (o.docs) {
      writeDocs(matrix);
      say('syscall-matrix: wrote the table in docs/esxi.md');
    } else say('\n' + matrixTable(matrix));
  } finally {
    host.cleanup();
    cluster.down();
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}
