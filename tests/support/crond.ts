// A real crond for the doctor's "crond is running" check: busybox crond in the foreground, reading an empty crontab
// directory of its own (it runs nothing), stopped by the test that started it. busybox crond always writes
// /var/run/crond.pid; it runs in a mount namespace of its own with a tmpfs on /run, so this machine's file is never
// written (tests/install/crond.test.ts runs its own crond meanwhile). The process is still seen in /proc.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Crond {
  pid: number;
  stop(): void;
}

/** Start `busybox crond -f` (scripts/install-deps installs busybox-static); its pid is the process's own. */
export async function startCrond(): Promise<Crond> {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-crond-'));
  // unshare and sh both exec: the pid stays the crond's
  const script = `mount -t tmpfs tmpfs /run && exec busybox crond -f -c '${dir}' -L /dev/null`;
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const pid = child.pid!;
  // running once /proc shows busybox crond under that pid
  const until = Date.now() + 10_000;
  const isCrond = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('busybox\0crond\0');
    } catch {
      return false;
    }
  };
  while (!isCrond()) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`busybox crond did not start: ${stderr.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    pid,
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
