// REROUTE_TRACE=1: where a run's time goes. Each mark is milliseconds since the process started (performance.now());
// the list goes to stderr when the process exits. scripts/bench-pass prints the median of every mark.
import { performance } from 'node:perf_hooks';

const enabled = process.env.REROUTE_TRACE === '1';
const marks: Array<[string, number]> = [];

/** Record that the run reached `label` now. Costs nothing when tracing is off. */
export function mark(label: string): void {
  if (enabled) marks.push([label, performance.now()]);
}

/** Record a mark taken elsewhere (the loader, before this module existed) at `ms` since the process started. */
export function markAt(label: string, ms: number): void {
  if (enabled) marks.push([label, ms]);
}

/** Node's public built-in modules this process has loaded (each costs start-up time and RSS). */
function loadedBuiltins(): string[] {
  const list = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [];
  return list.filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice(13));
}

/** The marks as lines "trace <ms> <label>", or '' when tracing is off. */
export function traceText(): string {
  return marks.map(([label, ms]) => `trace ${ms.toFixed(1)} ${label}\n`).join('');
}

if (enabled) {
  process.on('exit', () => {
    mark('exit');
    const m = process.memoryUsage();
    const mb = (n: number) => (n / 1048576).toFixed(1);
    process.stderr.write(
      traceText() +
        `trace-memory rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} MB\n` +
        `trace-builtins ${loadedBuiltins().join(' ')}\n`,
    );
  });
}
