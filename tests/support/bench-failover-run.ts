// scripts/bench-failover: the agent as installed (production defaults, the cron lines `reroute install` writes, a real
// busybox crond with cron's environment) in the simulated cluster; SCVM-1 crashes at random moments (no ICMP, API or
// NFS; meta still lists its session as alive for 8 s, DESIGN §4). Measured from the host namespace: the time from the
// crash to the first new NFS connection answered by a remote SCVM, a connection attempted every 50 ms.
// Between crashes SCVM-1 comes back and an operator puts the route back on it (`route --target`, then `--auto`),
// so each crash starts from a host routed to its healthy local SCVM. A crash answers nothing: ICMP, NFS and the API
// are dropped, the API's answers to requests it took before too (api-silent).
// --slow-api (issue 27): every SCVM's API answers every call 1.5 s late, and each crash comes 200 ms after a heartbeat
// reached SCVM-1, so that heartbeat is in flight when it crashes.
import { Cluster, PLAN, ensureBuilt } from './cluster';
import { NfsWatch, killScvm, reviveScvm, sleep, waitFor } from './cluster-e2e';
import { cliInHost, install, type Installed } from './installed';
import { netnsUnavailableReason } from './netns';
import { ensureBundle } from './bundle';
import { parseProfile, type ProfileName } from './esxi/userworld';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function stats(xs: number[]): { min: number; median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { min: s[0]!, median: at(0.5), p90: at(0.9), max: s[s.length - 1]! };
}

const LOCAL = PLAN.scvms[0].dataIp;
/** --slow-api: how late every API answer comes, and how long after a heartbeat reached SCVM-1 it crashes */
const SLOW_API_MS = 1500;
const AFTER_HEARTBEAT_MS = 200;

/** Wait until a heartbeat reaches SCVM-1's API (a new one in its emulator's records). */
async function heartbeatReachesLocal(cluster: Cluster): Promise<void> {
  await cluster.clearRecords();
  await waitFor('a heartbeat reaching SCVM-1', async () => (await cluster.records())['scvm-1'].heartbeats.length > 0, 60_000, 20);
}

async function routeBackToLocal(cluster: Cluster, agent: Installed): Promise<void> {
  for (const args of [['route', '--target', LOCAL], ['route', '--auto']]) {
    const r = cliInHost(cluster, agent, args);
    if (r.status !== 0) throw new Error(`reroute ${args.join(' ')}: ${r.stderr}`);
  }
  const since = Date.now();
  await waitFor('a runner pass on the healthy local SCVM', () => agent.journal().some((j) => (j.until ?? j.at) > since && j.reason === 'local-ok'), 30_000);
}

/** How long to wait from `now` for a moment within 1.5 s either side of a minute boundary (at least 2 s from now). */
export function untilNearMinute(now: number): number {
  const at = (boundary: number) => boundary - 1500 + Math.random() * 3000;
  let target = at(Math.ceil(now / 60_000) * 60_000);
  if (target - now < 2000) target = at((Math.ceil(now / 60_000) + 1) * 60_000);
  return target - now;
}

/**
 * --bundle [--profile esxi7|strict] [--jitless] [--bundle-dir <dir>]: what InstalledOptions.bundle takes, or null
 * without --bundle. --bundle-dir runs another build of the bundle (an A/B against an older commit's).
 */
export function bundleOption(argv: string[]): { profile: ProfileName | null; jitless: boolean; dir?: string } | null {
  const p = argv.indexOf('--profile');
  const profile = p >= 0 ? parseProfile(argv[p + 1]) : null;
  const jitless = argv.includes('--jitless');
  const d = argv.indexOf('--bundle-dir');
  const dir = d >= 0 ? argv[d + 1] : undefined;
  if (d >= 0 && (dir === undefined || !existsSync(join(dir, 'bin', 'reroute')))) throw new Error(`--bundle-dir wants a bundle directory (with bin/reroute), got "${dir ?? ''}"`);
  if (!argv.includes('--bundle')) {
    if (profile || jitless || dir) throw new Error('--profile, --jitless and --bundle-dir go with --bundle (the bundle as an ESXi host runs it)');
    return null;
  }
  return { profile, jitless, ...(dir ? { dir: resolve(dir) } : {}) };
}

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--crashes');
  const crashes = i >= 0 ? Number(argv[i + 1]) : 20;
  if (!Number.isInteger(crashes) || crashes < 1) throw new Error(`--crashes wants a positive whole number, got "${argv[i + 1]}"`);
  // --near-minute: every crash within 1.5 s of a minute boundary, where one minute's process hands over to the next
  const nearMinute = argv.includes('--near-minute');
  // --bundle: dist/bundle as an ESXi host runs it (a userworld root, the fake ESXi commands), --profile esxi7|strict
  // with system calls failing as on VMkernel, --jitless through the launcher's switch (tests/support/esxi/host.ts)
  const bundle = bundleOption(argv);
  const slowApi = argv.includes('--slow-api');
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`bench-failover: needs root and network namespaces (${why})\n`);
    return 2;
  }
  ensureBuilt();
  if (bundle && !bundle.dir) ensureBundle();
  const cluster = await Cluster.up();
  let agent: Installed | null = null;
  const cleanup = () => {
    agent?.stop();
    cluster.down();
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outs: number[] = [];
  try {
    mkdirSync(`${cluster.dir}/scratch`, { recursive: true });
    agent = install(cluster, { persistent: `${cluster.dir}/scratch`, ...(bundle ? { bundle } : {}) });
    process.stdout.write('bench-failover: installed; waiting for cron to start the first runner (the next minute)\n');
    await waitFor('the first runner', () => agent!.passes() >= 3, 90_000, 200);
    if (slowApi) for (const s of ['scvm-1', 'scvm-2', 'scvm-3'] as const) await cluster.fault(s, 'slow-api', { delayMs: SLOW_API_MS });
    const watch = new NfsWatch(cluster, 50);
    try {
      for (let n = 1; n <= crashes; n++) {
        await routeBackToLocal(cluster, agent);
        if (nearMinute) await sleep(untilNearMinute(Date.now()));
        else if (slowApi) {
          await heartbeatReachesLocal(cluster);
          await sleep(AFTER_HEARTBEAT_MS);
        } else await sleep(2000 + Math.random() * 1000); // the crash lands anywhere within a pass's second
        const tKill = Date.now();
        await Promise.all([killScvm(cluster, 'scvm-1'), cluster.fault('scvm-1', 'api-silent')]);
        const out = await watch.waitFirst(tKill, (w) => w === 'scvm-2' || w === 'scvm-3', 30_000);
        outs.push((out.at - tKill) / 1000);
        const second = (Math.floor((tKill % 60_000) / 100) / 10).toFixed(1).padStart(4);
        process.stdout.write(`crash ${String(n).padStart(2)} at :${second}: NFS on ${out.who} after ${outs.at(-1)!.toFixed(2)} s\n`);
        await sleep(Math.max(0, tKill + 8000 - Date.now())); // meta notices the lost session after its keep-alive
        await cluster.fault('scvm-1', 'session-missing');
        await sleep(1000);
        await reviveScvm(cluster, 'scvm-1');
        await cluster.heal('scvm-1', 'api-silent');
        await cluster.heal('scvm-1', 'session-missing');
      }
    } finally {
      await watch.stop();
    }
  } finally {
    cleanup();
  }
  const s = stats(outs);
  process.stdout.write(
    [
      '',
      `failover as installed (production defaults, pass every 1 s, one process a minute, busybox crond), ${crashes} crashes${nearMinute ? ' within 1.5 s of a minute boundary (the hand-over)' : ''}${slowApi ? `, every API answer ${SLOW_API_MS} ms late, each crash ${AFTER_HEARTBEAT_MS} ms after a heartbeat reached SCVM-1` : ''}:`,
      `  agent: ${bundle ? `the bundle in an ESXi userworld root (fake ESXi commands), profile ${bundle.profile ?? 'none'}${bundle.jitless ? ', --jitless' : ''}${bundle.dir ? `, ${bundle.dir}` : ''}` : 'the checkout (dist/reroute.js on the shipped Node), Linux routes'}`,
      `  crash -> first NFS connection answered by a remote SCVM: min ${s.min.toFixed(2)} s, median ${s.median.toFixed(2)} s, p90 ${s.p90.toFixed(2)} s, max ${s.max.toFixed(2)} s`,
      `  goal: the worst of ${crashes} at most 1.0 s: ${s.max <= 1.0 ? 'met' : 'MISSED'}`,
      '',
    ].join('\n'),
  );
  return 0;
}
