// scripts/bench-verdicts: false verdicts. The agent as installed watches a local SCVM that is healthy but answers ICMP
// like a slow or jittery cluster (tests/support/echo-responder.ts, its kernel's own echo answers turned off); nothing
// may move: every route change counted here is a false verdict. Two profiles, --minutes each (default 30).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Cluster, ensureBuilt } from './cluster';
import { sleep, waitFor } from './cluster-e2e';
import { install, type Installed } from './installed';
import { bundleForChild, childEnv, netnsUnavailableReason } from './netns';

const PROFILES = ['nested', 'harsh'] as const;

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--minutes');
  const minutes = i >= 0 ? Number(argv[i + 1]) : 30;
  if (!(minutes > 0)) throw new Error(`--minutes wants a positive number, got "${argv[i + 1]}"`);
  const only = argv.includes('--profile') ? [argv[argv.indexOf('--profile') + 1] as (typeof PROFILES)[number]] : [...PROFILES];
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`bench-verdicts: needs root and network namespaces (${why})\n`);
    return 2;
  }
  ensureBuilt();
  const responder = bundleForChild('tests/support/echo-responder.ts');
  const results: string[] = [];
  for (const profile of only) {
    const cluster = await Cluster.up();
    let agent: Installed | null = null;
    const ns = cluster.ns('scvm-1');
    const echo = spawn('ip', ['netns', 'exec', ns, process.execPath, responder, profile], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const s = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1'], { encoding: 'utf8' });
      if (s.status !== 0) throw new Error(`sysctl in ${ns}: ${s.stderr}`);
      await new Promise<void>((resolve) => echo.stdout!.once('data', () => resolve()));
      agent = install(cluster, { persistent: `${cluster.dir}/scratch` });
      process.stdout.write(`bench-verdicts: ${profile}: installed; the first runner starts at the next minute; ${minutes} min from then\n`);
      await waitFor('the first runner', () => agent!.passes() >= 3, 90_000, 200);
      const t0 = Date.now();
      while (Date.now() - t0 < minutes * 60_000) {
        await sleep(Math.min(60_000, t0 + minutes * 60_000 - Date.now()));
        const log = readFileSync(agent.log, 'utf8');
        const switches = (log.match(/\[\+\] trying to add route from/g) ?? []).length;
        const downs = agent.journal().filter((j) => j.local === 'icmp-down').reduce((n, j) => n + (j.repeats ?? 1), 0);
        process.stdout.write(`  ${profile}: ${((Date.now() - t0) / 60_000).toFixed(0)} min: ${switches} switches, ${downs} passes of the journal's last 200 entries saw the local SCVM down\n`);
      }
      const log = readFileSync(agent.log, 'utf8');
      const switches = (log.match(/\[\+\] trying to add route from/g) ?? []).length;
      results.push(`  ${profile.padEnd(6)} ${minutes} min: ${switches} switches (goal 0: ${switches === 0 ? 'met' : 'MISSED'})`);
    } finally {
      echo.kill('SIGKILL');
      agent?.stop();
      cluster.down();
    }
  }
  process.stdout.write(['', 'false verdicts as installed (production defaults, pass every 1 s, busybox crond):', ...results, ''].join('\n'));
  return 0;
}
