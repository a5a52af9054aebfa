// The watchdog that does not depend on the event loop (lib/runtime/watchdog.ts): a pass whose process blocks for good
// is ended by it, and so is the command that pass had running (it would otherwise outlive the agent as an orphan).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleForChild, childEnv } from '../support/netns';

/** the watchdog looks every 2 s: with this, it kills after two looks at the same pass */
const MAX_PASS_MS = 1000;

let dir = '';
let driver = '';
beforeAll(() => {
  driver = bundleForChild('tests/runtime/watchdog-driver.ts');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-watchdog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function start(mode?: 'ends') {
  const child = spawn(process.execPath, [driver, join(dir, 'pass-running'), join(dir, 'reroute.log'), String(MAX_PASS_MS), ...(mode ? [mode] : [])], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const started = Date.now();
  const exit = new Promise<{ code: number | null; signal: string | null; afterMs: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, afterMs: Date.now() - started })),
  );
  return { exit, out: () => out };
}

/** gone, or a zombie nobody reaped yet: either way it runs no more */
function runs(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    return readFileSync(stat, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
}

it('kills a process whose pass blocks its event loop, and the command that pass had running', async () => {
  const d = start();
  const { signal, afterMs } = await d.exit;
  const pid = Number(/^hung (\d+)$/m.exec(d.out())?.[1]);
  expect(pid).toBeGreaterThan(0);
  expect(signal).toBe('SIGKILL');
  // two looks 2 s apart, after the pass's deadline; the margin is for a loaded machine
  expect(afterMs).toBeGreaterThanOrEqual(3000);
  expect(afterMs).toBeLessThan(15_000);
  const log = readFileSync(join(dir, 'reroute.log'), 'utf8');
  expect(log).toContain(`watchdog: pass 1 was still running past its deadline and grace`);
  expect(log).toContain(`its commands (process groups ${pid})`);
  await new Promise((r) => setTimeout(r, 300));
  const orphan = runs(pid);
  if (orphan) process.kill(pid, 'SIGKILL'); // not left behind by a failing run
  expect(orphan).toBe(false);
}, 30_000);

it('leaves alone a process whose passes end', async () => {
  const d = start('ends');
  const { code, signal } = await d.exit;
  expect(signal).toBeNull();
  expect(code).toBe(0);
  expect(existsSync(join(dir, 'reroute.log'))).toBe(false);
}, 30_000);
