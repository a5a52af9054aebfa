// scripts/bench-failover: scenario 2 repeated. Per run: fresh agent state, the real agent every second, SCVM-1
// crashes at a random moment within the cron second; measured on the NFS stand-in from the host namespace:
// - out:  seconds from the crash to the first new NFS connection answered by a remote SCVM;
// - back: seconds from the end of the stable period (revival + backToNormalSec) to the first answer by SCVM-1.
//   A pass dates its observations at its start, so a revival in the middle of a pass's probe can count from that
//   start: small negative values (tens of ms) are possible and honest.
import { rmSync } from 'node:fs';
import { Cluster, ensureBuilt } from './cluster';
import { NfsWatch, killScvm, reviveScvm, sleep, waitFor } from './cluster-e2e';
import { netnsUnavailableReason } from './netns';

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0]!, median: mid, max: s[s.length - 1]! };
}

const fmt = (x: { min: number; median: number; max: number }) =>
  `min ${x.min.toFixed(2)} s, median ${x.median.toFixed(2)} s, max ${x.max.toFixed(2)} s`;

/** Run the benchmark; returns the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
  const arg = (name: string, def: number) => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? Number(argv[i + 1]) : def;
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} wants a positive whole number, got "${argv[i + 1]}"`);
    return v;
  };
  const runs = arg('--runs', 10);
  const stableSec = arg('--stable-sec', 5);
  const why = netnsUnavailableReason();
  if (why) {
    process.stderr.write(`bench-failover: needs root and network namespaces (${why})\n`);
    return 2;
  }
  ensureBuilt();
  const cluster = await Cluster.up({ config: { decide: { backToNormalSec: stableSec } } });
  const onSignal = () => {
    cluster.down();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outs: number[] = [];
  const backs: number[] = [];
  const revivals: number[] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      rmSync(cluster.agentPath('state'), { force: true }); // no flap history carried from the last run
      const watch = new NfsWatch(cluster, 50);
      const cron = cluster.startCron(1000);
      try {
        await waitFor('two passes', () => cron.passes.filter((p) => p.code === 0).length >= 2, 15_000);
        await sleep(Math.random() * 1000); // the crash lands anywhere within the cron second
        const tKill = Date.now();
        await killScvm(cluster, 'scvm-1');
        const out = await watch.waitFirst(tKill, (w) => w === 'scvm-2' || w === 'scvm-3', 20_000);
        await sleep(1500);
        const tRevive = Date.now();
        await reviveScvm(cluster, 'scvm-1');
        const back = await watch.waitFirst(tRevive, (w) => w === 'scvm-1', (stableSec + 20) * 1000);
        outs.push((out.at - tKill) / 1000);
        revivals.push((back.at - tRevive) / 1000);
        backs.push(revivals.at(-1)! - stableSec);
        process.stdout.write(
          `run ${String(i).padStart(2)}: out ${outs.at(-1)!.toFixed(2)} s (to ${out.who}), back ${backs.at(-1)!.toFixed(2)} s after the stable period\n`,
        );
      } finally {
        await cron.stop();
        await watch.stop();
      }
      await sleep(1200); // let the last pass's lock go before the state is reset
    }
  } finally {
    cluster.down();
  }
  process.stdout.write(
    [
      '',
      `failover at a 1 s cadence over ${runs} runs (stable period ${stableSec} s):`,
      `  crash -> traffic on a remote SCVM:          ${fmt(stats(outs))}`,
      `  stable period end -> traffic back on local: ${fmt(stats(backs))}`,
      `  (revival -> traffic back on local:          ${fmt(stats(revivals))})`,
      '',
    ].join('\n'),
  );
  return 0;
}
