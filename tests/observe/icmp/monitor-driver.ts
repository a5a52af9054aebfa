// Child-process driver: runs the long-lived runner's ICMP monitor inside a namespace (`ip netns exec`) for a while and
// prints one JSON line: each verdict change (ms after watching began) and the snapshot it would hand over.
// Input: argv[2] = JSON {targets, settings (partial: schema defaults fill the rest), memory, watchMs}; in `memory`,
// `heardAgoMs` stands for `heardAt` (the host's monotonic clock is read here, in the child). With `wakesFromMs`, it also
// counts how often its main thread slept and woke from then to the end (the kernel's voluntary context switches).
import { readFileSync } from 'node:fs';
import { probeSchema } from '../../../lib/config/schema';
import { ProbeMonitor, type MonitorSnapshot, type TargetMemory } from '../../../lib/observe/icmp/monitor';
import { monotonicMs } from '../../../lib/runtime/host';
import { silentLog } from '../../../lib/runtime/log';
import type { ProbeResult } from '../../../lib/types';

export type MemoryInput = Record<string, Omit<TargetMemory, 'heardAt' | 'at'> & { heardAgoMs?: number; handedAgoMs?: number }>;

interface DriverInput {
  targets: string[];
  settings?: Record<string, unknown>;
  memory?: MemoryInput;
  watchMs: number;
  wakesFromMs?: number;
}

export interface MonitorOutput {
  /** each target's verdict right after watching began, before any echo */
  initial: Record<string, string>;
  changes: { ip: string; verdict: string; atMs: number }[];
  snapshot: MonitorSnapshot;
  /** the host's monotonic clock when the snapshot was taken */
  snapshotAt: number;
  /** the results a pass would read at the end */
  results: Record<string, ProbeResult>;
  /** times the main thread slept and woke from `wakesFromMs` to the end */
  wakes?: number;
}

const mainThreadWakes = () =>
  Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'))![1]);

function main(): void {
  const input = JSON.parse(process.argv[2] ?? '') as DriverInput;
  const memory: MonitorSnapshot = {};
  // times count from the moment `heardAgoMs` is counted back from: the monitor's construction (its raw socket) takes
  // a few ms, tens on a loaded machine, and a t0 taken after it made a handed-over silence seem to end early
  const t0 = performance.now();
  const now = monotonicMs();
  for (const [ip, { heardAgoMs, handedAgoMs, ...m }] of Object.entries(input.memory ?? {})) {
    memory[ip] = { ...m, ...(heardAgoMs === undefined ? {} : { heardAt: now - heardAgoMs }), ...(handedAgoMs === undefined ? {} : { at: now - handedAgoMs }) };
  }
  const monitor = new ProbeMonitor(probeSchema.parse(input.settings ?? {}), silentLog, memory);
  const changes: MonitorOutput['changes'] = [];
  monitor.onChange((ip, verdict) => changes.push({ ip, verdict, atMs: Math.round(performance.now() - t0) }));
  monitor.watch(input.targets, input.targets);
  // results() leaves out a target not judged yet
  const seen = monitor.results();
  const initial = Object.fromEntries(input.targets.map((ip) => [ip, seen[ip] ? (seen[ip].reachable ? 'up' : 'down') : 'unknown']));
  let wakesAtStart = 0;
  if (input.wakesFromMs !== undefined) setTimeout(() => (wakesAtStart = mainThreadWakes()), input.wakesFromMs);
  setTimeout(() => {
    const out: MonitorOutput = { initial, changes, snapshot: monitor.snapshot(), snapshotAt: monotonicMs(), results: monitor.results() };
    if (input.wakesFromMs !== undefined) out.wakes = mainThreadWakes() - wakesAtStart;
    monitor.close();
    process.stdout.write(JSON.stringify(out) + '\n');
  }, input.watchMs);
}

main();
