// The V8 flags every agent process sets at its start (lib/runtime/v8-flags.ts) keep undici's WebAssembly HTTP parser on
// the baseline compiler. On Node 24, `--liftoff-only` set at run time did not: the parser, hot after a few hundred
// answers, was compiled again by TurboFan on background threads, 20 MB more of the runner's RSS each minute.
import { spawnSync } from 'node:child_process';
import { bundleForChild, childEnv } from '../support/netns';

let driver = '';
beforeAll(() => {
  driver = bundleForChild('tests/runtime/v8-flags-driver.ts');
});

function run(mode?: 'untuned'): { whole: number; peakMallocMb: number } {
  const r = spawnSync(process.execPath, [driver, ...(mode ? [mode] : [])], { env: childEnv(), encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`driver failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as { whole: number; peakMallocMb: number };
}

it("tuned, undici's hot parser stays on Liftoff: no optimising compile's memory", () => {
  const tuned = run();
  expect(tuned.whole).toBe(300);
  expect(tuned.peakMallocMb).toBeLessThan(10);
}, 90_000);

it('untuned, the same requests tier the parser up (what the test above would miss if they did not)', () => {
  const untuned = run('untuned');
  expect(untuned.whole).toBe(300);
  expect(untuned.peakMallocMb).toBeGreaterThan(15);
}, 90_000);
