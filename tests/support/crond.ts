// A real crond for the doctor's "crond is running" check: busybox crond in the foreground, reading an empty crontab
// directory of its own (it runs nothing), stopped by the test that started it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Crond {
  pid: number;
  stop(): void;
}

/** Start `busybox crond -f` (scripts/install-deps installs busybox-static). */
export async function startCrond(): Promise<Crond> {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-crond-'));
  const child = spawn('busybox', ['crond', '-f', '-c', dir, '-L', '/dev/null'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return {
    pid: child.pid!,
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
