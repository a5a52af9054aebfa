// scripts/bench-pass: the cost of one steady-state pass of the bundled CLI, as cron pays it, in the simulated cluster:
// per-pass wall time, CPU time (user + system) and max RSS over N passes, beside a bare `node -e 0` measured in the
// same run and the same namespace. Goal (issue 8): wall <= 1.5 x bare start + the probe wait; RSS <= 60 MB.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, ensureBuilt } from './cluster';
import { netnsUnavailableReason } from './netns';

const ROOT = join(__dirname, '..', '..');
const TIME = '/usr/bin/time';

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssMb: number;
  code: number | null;
}

/** Run argv inside the host namespace under GNU time; its report goes to a file descriptor of its own. */
function measure(ns: string, argv: string[], env: NodeJS.ProcessEnv): Sample {
  // GNU time's wall clock has 10 ms steps: wall time is taken here (the same `ip netns exec` + time overhead for both).
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', ns, TIME, '-f', 'TIME %e %U %S %M', ...argv], {
    encoding: 'utf8',
    env,
    cwd: '/',
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /TIME [\d.]+ ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`no timing from ${argv.join(' ')}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return {
    wallMs,
    cpuMs: (Number(m[1]) + Number(m[2])) * 1000,
    rssMb: Number(m[3]) / 1024,
    code: r.status,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * Where a pass's time goes: REROUTE_TRACE=1 makes the CLI print its marks (ms since process start) at exit; the
 * median of each mark over n passes, in the order the pass reaches them.
 */
function traceBreakdown(ns: string, agent: string[], env: NodeJS.ProcessEnv, n: number): string {
  const byLabel = new Map<string, number[]>();
  for (let k = 0; k < n; k++) {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...agent], { encoding: 'utf8', env: { ...env, REROUTE_TRACE: '1' } });
    if (r.status !== 0) throw new Error(`traced pass exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
    for (const m of r.stderr.matchAll(/^trace ([\d.]+) (.+)$/gm)) {
      const xs = byLabel.get(m[2]!) ?? [];
      xs.push(Number(m[1]));
      byLabel.set(m[2]!, xs);
    }
  }
  const rows = [...byLabel.entries()].map(([label, xs]) => [label, median(xs)] as const).sort((a, b) => a[1] - b[1]);
  let prev = 0;
  const lines = rows.map(([label, ms]) => {
    const line = `  ${ms.toFixed(1).padStart(6)} ms  (+${(ms - prev).toFixed(1).padStart(5)})  ${label}`;
    prev = ms;
    return line;
  });
  return `where a pass's time goes (median of ${n} traced passes, ms since the process started):\n${lines.join('\n')}\n`;
}

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--passes');
  const passes = i >= 0 ? Number(argv[i + 1]) : 100;
  if (!Number.isInteger(passes) || passes < 1) throw new Error(`--passes wants a positive whole number`);
  // --against <dir>: another build (a copy of dist/ made before a change) run alternately with dist/, for A/B figures
  const j = argv.indexOf('--against');
  const against = j >= 0 ? argv[j + 1] : undefined;
  if (j >= 0 && (!against || !existsSync(join(against, 'reroute.js')))) {
    throw new Error(`--against wants a directory holding reroute.js (a copy of dist/)`);
  }
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`bench-pass: needs root and network namespaces (${why})\n`);
    return 2;
  }
  if (!existsSync(TIME)) {
    process.stderr.write(`bench-pass: ${TIME} is missing: run scripts/install-deps (Debian package "time")\n`);
    return 2;
  }
  ensureBuilt();
  // The production probe defaults, not the cluster's short test ones: the pass cost cron pays on a real host.
  const cluster = await Cluster.up({
    config: { probe: { count: 10, intervalMs: 100, waitMs: 1000, timeoutMs: 2000, minReplies: 3 } },
  });
  const onSignal = () => {
    cluster.down();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const ns = cluster.ns('host');
    const env = cluster.cronEnv('linux');
    const agent = [process.execPath, join(ROOT, 'dist', 'reroute.js'), '--config', cluster.configPath('linux'), 'loop'];
    const other = against ? [process.execPath, join(against, 'reroute.js'), ...agent.slice(2)] : null;
    measure(ns, agent, env); // first pass: login, first session list; not steady state
    if (other) measure(ns, other, env);
    const bare: Sample[] = [];
    const pass: Sample[] = [];
    const otherPass: Sample[] = [];
    for (let k = 0; k < passes; k++) {
      bare.push(measure(ns, [process.execPath, '-e', '0'], env));
      const s = measure(ns, agent, env);
      if (s.code !== 0) throw new Error(`pass ${k + 1} exited ${s.code}`);
      pass.push(s);
      if (other) otherPass.push(measure(ns, other, env));
    }
    const trace = traceBreakdown(ns, agent, env, Math.min(passes, 30));
    const probe = cluster.agentConfig('linux').probe!;
    // A healthy target is judged once minReplies echoes, intervalMs apart, have come back.
    const probeWaitMs = (probe.minReplies! - 1) * probe.intervalMs!;
    const bareMs = median(bare.map((s) => s.wallMs));
    const row = (name: string, xs: Sample[]) =>
      `${name.padEnd(14)} wall median ${median(xs.map((s) => s.wallMs)).toFixed(0).padStart(4)} ms (p90 ${pct(
        xs.map((s) => s.wallMs),
        90,
      ).toFixed(0)})  cpu median ${median(xs.map((s) => s.cpuMs)).toFixed(0).padStart(4)} ms  max RSS ${Math.max(
        ...xs.map((s) => s.rssMb),
      ).toFixed(1)} MB`;
    process.stdout.write(`bench-pass: ${passes} steady-state passes of dist/reroute.js in the simulated cluster\n`);
    process.stdout.write(row('node -e 0', bare) + '\n');
    process.stdout.write(row('reroute loop', pass) + '\n');
    if (other) {
      process.stdout.write(row('--against', otherPass) + '\n');
      const diff = median(pass.map((s, k) => s.wallMs - otherPass[k]!.wallMs));
      process.stdout.write(`dist/ minus --against, median of paired passes: ${diff.toFixed(1)} ms\n`);
    }
    const wall = median(pass.map((s) => s.wallMs));
    const goal = 1.5 * bareMs + probeWaitMs;
    const rss = Math.max(...pass.map((s) => s.rssMb));
    process.stdout.write(
      `probe wait (healthy targets): ${probeWaitMs} ms (count ${probe.count}, interval ${probe.intervalMs} ms, minReplies ${probe.minReplies})\n` +
        `goal: wall <= 1.5 x ${bareMs.toFixed(0)} + ${probeWaitMs} = ${goal.toFixed(0)} ms -> ${wall <= goal ? 'met' : 'MISSED'} (${wall.toFixed(0)} ms); ` +
        `RSS <= 60 MB -> ${rss <= 60 ? 'met' : 'MISSED'} (${rss.toFixed(1)} MB)\n` +
        `the pass beyond a bare start and the probe wait: ${(wall - bareMs - probeWaitMs).toFixed(0)} ms ` +
        `(the wall goal leaves ${(0.5 * bareMs).toFixed(1)} ms)\n`,
    );
    process.stdout.write(trace);
    return 0;
  } finally {
    cluster.down();
  }
}
