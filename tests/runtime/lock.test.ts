import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquirePassLock, staleMsFor } from '../../lib/runtime/lock';
import { LockedError } from '../../lib/errors';
import { bundleForChild, childEnv } from '../support/netns';
import { recordingLog } from '../support/log';

const driver = () => bundleForChild('tests/runtime/lock-driver.ts');

function startHolder(lockPath: string, holdMs: number): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, [driver(), lockPath, String(holdMs)], { env: childEnv() });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      lines.push(...b.toString().trim().split('\n'));
      if (lines.includes('locked')) resolve({ child, lines });
    });
    child.on('exit', () => reject(new Error(`holder exited early: ${lines.join(',')}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => c.on('exit', (code) => r(code)));

describe('pass lock', () => {
  const lockPath = () => join(mkdtempSync(join(tmpdir(), 'reroute-lock-')), 'reroute.lock');

  it('ties the stale period to the pass deadline', () => {
    expect(staleMsFor(10_000)).toBe(12_000);
    expect(staleMsFor(1000)).toBe(5000);
  });

  it('refuses a second holder at once, naming the first', async () => {
    const path = lockPath();
    const { child } = await startHolder(path, 3000);
    const started = Date.now();
    const err = await acquirePassLock(path, 3000, recordingLog()).catch((e) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).message).toMatch(new RegExp(`holds the lock .*\\(pid ${child.pid} since `));
    expect(Date.now() - started).toBeLessThan(1000);
    child.kill('SIGKILL');
    await exited(child);
  });

  it('takes over a lock left by a pass killed with -9 after the stale period, not before', async () => {
    const path = lockPath();
    const { child } = await startHolder(path, 60_000);
    child.kill('SIGKILL');
    await exited(child);
    const killedAt = Date.now();
    await expect(acquirePassLock(path, 3000, recordingLog())).rejects.toBeInstanceOf(LockedError);
    let lock = null;
    while (!lock && Date.now() - killedAt < staleMsFor(3000) + 3000) {
      lock = await acquirePassLock(path, 3000, recordingLog()).catch(() => null);
      if (!lock) await new Promise((r) => setTimeout(r, 250));
    }
    expect(lock).not.toBeNull();
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(staleMsFor(3000) - 1500);
    await lock!.release();
  }, 20_000);

  it('a pass frozen past the stale period learns it lost the lock and stops', async () => {
    const path = lockPath();
    const { child, lines } = await startHolder(path, 20_000);
    child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      let taker = null;
      while (!taker && Date.now() - stoppedAt < staleMsFor(3000) + 5000) {
        await new Promise((r) => setTimeout(r, 250));
        taker = await acquirePassLock(path, 3000, recordingLog()).catch(() => null);
      }
      expect(taker).not.toBeNull();
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(staleMsFor(3000) - 2500);
      child.kill('SIGCONT');
      const code = await exited(child);
      expect(code).toBe(4);
      expect(lines).toContain('E_LOCK_LOST');
      taker!.assertHeld();
      await taker!.release();
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
