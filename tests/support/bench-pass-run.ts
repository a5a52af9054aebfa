// scripts/bench-pass: the cost of one steady-state one-pass `reroute loop` (the design card's mode; the installed
// default is the long-lived mode, scripts/bench-footprint), with production defaults, in cron's environment, in the
// simulated cluster: per-pass wall time, CPU time (user + system) and max RSS over N passes, beside a bare `node -e 0`
// measured in the same run and namespace. Goal (issue "One process a minute"): wall under 300 ms.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Cluster, ensureBuilt } from './cluster';
import { productionConfig } from './installed';
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
  const cluster = await Cluster.up();
  // production defaults, not the cluster's short test settings: the pass a host pays for
  const config = join(cluster.dir, 'production.json');
  writeFileSync(config, JSON.stringify(productionConfig(join(cluster.dir, 'scratch'), join(cluster.dir, 'run'))), { mode: 0o600 });
  const onSignal = () => {
    cluster.down();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const ns = cluster.ns('host');
    const env = cluster.cronEnv('linux');
    const agent = [process.execPath, join(ROOT, 'dist', 'reroute.js'), '--config', config, 'loop'];
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
    // A healthy target is judged once minReplies (3) echoes, intervalMs (100 ms) apart, have come back.
    const probeWaitMs = 200;
    const bareMs = median(bare.map((s) => s.wallMs));
    const row = (name: string, xs: Sample[]) =>
      `${name.padEnd(14)} wall median ${median(xs.map((s) => s.wallMs)).toFixed(0).padStart(4)} ms (p90 ${pct(
        xs.map((s) => s.wallMs),
        90,
      ).toFixed(0)})  cpu median ${median(xs.map((s) => s.cpuMs)).toFixed(0).padStart(4)} ms  RSS median ${median(
        xs.map((s) => s.rssMb),
      ).toFixed(1)} MB, max ${Math.max(...xs.map((s) => s.rssMb)).toFixed(1)} MB`;
    process.stdout.write(`bench-pass: ${passes} steady-state passes of dist/reroute.js in the simulated cluster\n`);
    process.stdout.write(row('node -e 0', bare) + '\n');
    process.stdout.write(row('reroute loop', pass) + '\n');
    if (other) {
      process.stdout.write(row('--against', otherPass) + '\n');
      const diff = median(pass.map((s, k) => s.wallMs - otherPass[k]!.wallMs));
      process.stdout.write(`dist/ minus --against, median of paired passes: ${diff.toFixed(1)} ms\n`);
    }
    const wall = median(pass.map((s) => s.wallMs));
    const rss = Math.max(...pass.map((s) => s.rssMb));
    process.stdout.write(
      `goal: wall under 300 ms -> ${wall < 300 ? 'met' : 'MISSED'} (${wall.toFixed(0)} ms, of which the probe waits ${probeWaitMs} ms ` +
        `for a healthy target's third echo; ${(wall - bareMs - probeWaitMs).toFixed(0)} ms beyond a bare start and that wait); max RSS ${rss.toFixed(1)} MB\n`,
    );
    return 0;
  } finally {
    cluster.down();
  }
}
