// `npm run demo` (scripts/demo): the simulated cluster with the real agent run every second; SCVM-1 crashes, comes
// back; a timeline table of what the agent saw and did, and where the host's NFS traffic really went.
// Without root or network namespaces: one line saying so, then `reroute simulate` on a bundled timeline.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Cluster, PLAN, ensureBuilt, type PassResult } from './cluster';
import { NfsWatch, journalOf, killScvm, reviveScvm, sleep, switchesOf, waitFor, type Journal } from './cluster-e2e';
import { netnsUnavailableReason } from './netns';

const ROOT = join(__dirname, '..', '..');
const FALLBACK_TIMELINE = 'examples/timelines/scvm-crash.json';

interface DemoOptions {
  /** stable period before the route goes back, s */
  stableSec: number;
  /** SCVM-1 crashes at this second */
  killAt: number;
  /** meta notices the lost session this long after the crash (DESIGN.md §4: about 8 s) */
  metaSec: number;
  /** SCVM-1 is back (ping, API, NFS) at this second */
  reviveAt: number;
  /** its chunk service (session) is back this long after it boots */
  chunkSec: number;
}

function options(argv: string[]): DemoOptions {
  const o: DemoOptions = { stableSec: 10, killAt: 5, metaSec: 8, reviveAt: 22, chunkSec: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '').replace(/-(\w)/g, (_, ch: string) => ch.toUpperCase()) as keyof DemoOptions;
    const v = Number(argv[i + 1]);
    if (!(key in o) || !Number.isFinite(v) || v < 0) {
      throw new Error(`bad option ${argv[i]} ${argv[i + 1] ?? ''}: use --stable-sec, --kill-at, --meta-sec, --revive-at, --chunk-sec with seconds`);
    }
    o[key] = v;
  }
  if (o.reviveAt <= o.killAt) throw new Error('--revive-at must come after --kill-at');
  return o;
}

const COLS = [
  ['time', 6],
  ['local ICMP', 10],
  ['local session', 13],
  ['route via', 12],
  ['decision', 22],
  ['reason', 22],
  ['NFS answered by', 15],
] as const;

function row(cells: string[]): string {
  return cells.map((c, i) => c.padEnd(COLS[i]![1])).join('  ').trimEnd();
}

function localSession(cluster: Cluster, j: Journal | undefined): string {
  const known = (cluster.readState()?.engine as { sessions?: { known: { dataIp: string; alive: boolean }[] } } | undefined)
    ?.sessions?.known;
  const record = cluster.readRecord()?.engine as { listAt: number | null; lastSeen: Record<string, number> } | undefined;
  if (!known || !record || record.listAt === null || !j) return '?';
  const ip = PLAN.scvms[0].dataIp;
  const mine = known.find((k) => k.dataIp === ip);
  const word = !mine || (record.lastSeen[ip] ?? 0) < record.listAt ? 'missing' : mine.alive ? 'alive' : 'dead';
  return j.api ? word : `${word} (old)`;
}

function fallback(reason: string): number {
  process.stdout.write(
    `demo: cannot build the simulated cluster here (${reason}); replaying ${FALLBACK_TIMELINE} with \`reroute simulate\` instead\n`,
  );
  ensureBuilt();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'reroute'), 'simulate', join(ROOT, FALLBACK_TIMELINE)], {
    encoding: 'utf8',
  });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.status ?? 1;
}

/** Run the demo; returns the exit code. `unavailable`: why the namespace cluster cannot be built here, if it cannot. */
export async function demoMain(argv: string[], unavailable = netnsUnavailableReason()): Promise<number> {
  const o = options(argv);
  if (unavailable) return fallback(unavailable);
  ensureBuilt();

  process.stdout.write(`demo: bringing up a host and 3 SCVMs in network namespaces...\n`);
  const cluster = await Cluster.up({ config: { decide: { backToNormalSec: o.stableSec } } });
  const stopOnSignal = () => {
    cluster.down();
    process.stdout.write('\ndemo: interrupted; cluster removed\n');
    process.exit(130);
  };
  process.on('SIGINT', stopOnSignal);
  process.on('SIGTERM', stopOnSignal);
  const watch = new NfsWatch(cluster, 100);
  const cron = cluster.startCron(1000);
  try {
    process.stdout.write(
      `demo: cluster ${cluster.prefix} up; the agent runs every second in the host namespace (stable period ${o.stableSec} s)\n\n`,
    );
    const t0 = Date.now();
    const sec = (t: number) => (Math.max(0, t - t0) / 1000).toFixed(1);
    process.stdout.write(`${row(COLS.map(([h]) => h))}\n${row(COLS.map(([, w]) => '-'.repeat(w)))}\n`);
    let printing = Promise.resolve();
    cron.onPass((p: PassResult) => {
      const j = journalOf(cluster).at(-1);
      const route = cluster.hostRoute().join(',') || 'NONE';
      const session = localSession(cluster, j);
      printing = printing.then(async () => {
        const who = await cluster.whoServesNfs(800);
        const decision = p.code === 3 ? '(locked, skipped)' : !j ? `exit ${p.code}` : j.change ? `switch -> ${j.to}` : 'keep';
        process.stdout.write(
          `${row([sec(p.startedAt), j?.local === 'icmp-down' ? 'lost' : 'ok', session, route, decision, j?.reason ?? '', who ?? '(no answer)'])}\n`,
        );
      });
    });
    const event = async (at: number, text: string, act: () => Promise<void>) => {
      await sleep(Math.max(0, t0 + at * 1000 - Date.now()));
      await act();
      printing = printing.then(() => {
        process.stdout.write(`>>> ${sec(Date.now())} s: ${text}\n`);
      });
      return Date.now();
    };

    const tKill = await event(o.killAt, 'SCVM-1 crashes (ICMP dropped, API and NFS down)', () => killScvm(cluster, 'scvm-1'));
    await event(o.killAt + o.metaSec, 'meta notices: SCVM-1 session gone from the list', () =>
      cluster.fault('scvm-1', 'session-missing'),
    );
    const tRevive = await event(o.reviveAt, 'SCVM-1 boots (ICMP, API, NFS back; chunk not yet)', () => reviveScvm(cluster, 'scvm-1'));
    const tChunk = await event(o.reviveAt + o.chunkSec, 'SCVM-1 chunk service back: session alive', () =>
      cluster.heal('scvm-1', 'session-missing'),
    );
    await waitFor('the route back to SCVM-1', () => watch.first(tChunk, (w) => w === 'scvm-1'), (o.stableSec + 20) * 1000, 200);
    await sleep(3000);
    await cron.stop();
    await watch.stop();
    await printing;

    const out = watch.first(tKill, (w) => w === 'scvm-2' || w === 'scvm-3');
    const back = watch.first(tChunk, (w) => w === 'scvm-1');
    const end = Date.now();
    process.stdout.write(
      [
        '',
        'summary',
        `  failover: NFS traffic on ${out?.who ?? '?'} ${out ? ((out.at - tKill) / 1000).toFixed(2) : '?'} s after SCVM-1 crashed`,
        `  back:     NFS traffic on scvm-1 ${back ? ((back.at - tChunk) / 1000).toFixed(2) : '?'} s after SCVM-1 was healthy again (stable period ${o.stableSec} s; booted ${((tChunk - tRevive) / 1000).toFixed(0)} s before)`,
        `  switches: ${switchesOf(cluster).length}`,
        `  seconds without a path (new NFS connections unanswered): ${watch.unansweredSec(t0, end).toFixed(1)}`,
        `  agent log: ${cluster.agentPath('log')} (removed with the cluster)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await cron.stop();
    await watch.stop();
    cluster.down();
    process.stdout.write(`demo: cluster ${cluster.prefix} removed\n`);
  }
}
