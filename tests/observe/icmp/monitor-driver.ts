// Child-process driver: runs the long-lived runner's ICMP monitor inside a namespace (`ip netns exec`) for a while and
// prints one JSON line: each verdict change (ms after watching began) and the snapshot it would hand over.
// Input: argv[2] = JSON {targets, settings (partial: schema defaults fill the rest), memory, watchMs}; in `memory`,
// `heardAgoMs` stands for `heardAt` (the host's monotonic clock is read here, in the child).
import { probeSchema } from '../../../lib/config/schema';
import { ProbeMonitor, type MonitorSnapshot, type TargetMemory } from '../../../lib/observe/icmp/monitor';
import { monotonicMs } from '../../../lib/runtime/host';
import { silentLog } from '../../../lib/runtime/log';

export type MemoryInput = Record<string, Omit<TargetMemory, 'heardAt'> & { heardAgoMs?: number }>;

interface DriverInput {
  targets: string[];
  settings?: Record<string, unknown>;
  memory?: MemoryInput;
  watchMs: number;
}

export interface MonitorOutput {
  changes: { ip: string; verdict: string; atMs: number }[];
  snapshot: MonitorSnapshot;
  /** the host's monotonic clock when the snapshot was taken */
  snapshotAt: number;
}

function main(): void {
  const input = JSON.parse(process.argv[2] ?? '') as DriverInput;
  const memory: MonitorSnapshot = {};
  for (const [ip, { heardAgoMs, ...m }] of Object.entries(input.memory ?? {})) {
    memory[ip] = heardAgoMs === undefined ? m : { ...m, heardAt: monotonicMs() - heardAgoMs };
  }
  const monitor = new ProbeMonitor(probeSchema.parse(input.settings ?? {}), silentLog, memory);
  const t0 = performance.now();
  const changes: MonitorOutput['changes'] = [];
  monitor.onChange((ip, verdict) => changes.push({ ip, verdict, atMs: Math.round(performance.now() - t0) }));
  monitor.watch(input.targets, input.targets);
  setTimeout(() => {
    const out: MonitorOutput = { changes, snapshot: monitor.snapshot(), snapshotAt: monotonicMs() };
    monitor.close();
    process.stdout.write(JSON.stringify(out) + '\n');
  }, input.watchMs);
}

main();
