// Child-process driver: runs probe() inside a namespace (`ip netns exec`) and prints one JSON line.
// Input: argv[2] = JSON {targets, settings (partial: schema defaults fill the rest), runs?}. Used by the integration tests and scripts/bench-probe.
// It never calls process.exit: the process ending on its own proves the prober closed its socket.
import { probeSchema } from '../../../lib/config/schema';
import { probe, type ProbeSettings } from '../../../lib/observe/icmp/prober';
import { RerouteError } from '../../../lib/errors';
import type { ProbeResult } from '../../../lib/types';
import { silentLog } from '../../../lib/runtime/log';
import { tuneV8ForShortRun } from '../../../lib/runtime/v8-flags';

interface DriverInput {
  targets: string[];
  settings?: Partial<ProbeSettings>;
  runs?: number;
}

/** Cost of one sweep as the bench reports it. */
export interface RunFigures {
  wallMs: number;
  cpuMs: number;
  userMs: number;
  sysMs: number;
  rssMb: number;
}

async function main(): Promise<void> {
  tuneV8ForShortRun(); // as the CLI does: measure the sweep the agent runs
  const input = JSON.parse(process.argv[2] ?? '') as DriverInput;
  const settings = probeSchema.parse(input.settings ?? {});
  const runs: RunFigures[] = [];
  let results: Record<string, ProbeResult> = {};
  for (let i = 0; i < (input.runs ?? 1); i++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    results = await probe(input.targets, settings, silentLog);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    runs.push({
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      userMs: cpu.user / 1000,
      sysMs: cpu.system / 1000,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    });
  }
  process.stdout.write(JSON.stringify({ results, runs }) + '\n');
}

main().catch((e: unknown) => {
  const err = e as Error;
  const code = e instanceof RerouteError ? e.code : 'UNEXPECTED';
  process.stdout.write(JSON.stringify({ error: { name: err.name, code, message: err.message } }) + '\n');
  process.exitCode = 2;
});
