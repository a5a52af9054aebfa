import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/runtime/exec';
import { CommandError, CommandStuckError, CommandTimeoutError, MissingValueError } from '../../lib/errors';
import { mountStallfs, mountsUnavailableReason } from '../support/stallfs';

/** Running (a zombie waiting for its reaper counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe('exec with deadlines', () => {
  it('captures stdout, stderr and status without a shell', async () => {
    const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 2000 });
    expect(r).toMatchObject({ status: 3, stdout: 'out\n', stderr: 'err\n' });
    // an argument with shell syntax stays one literal argument
    const lit = await run(['echo', '$(id); rm -rf /'], { timeoutMs: 2000 });
    expect(lit.stdout).toBe('$(id); rm -rf /\n');
  });

  it('kills a child that ignores SIGTERM, and its grandchildren, at the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reroute-exec-'));
    const pids = join(dir, 'pids');
    const started = Date.now();
    const p = run(['sh', '-c', `trap "" TERM; echo $$ > ${pids}; sleep 30 & echo $! >> ${pids}; wait`], { timeoutMs: 500 });
    await expect(p).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(Date.now() - started).toBeLessThan(10_000); // the child would sleep 30 s
    const [leader, grandchild] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(leader!)).toBe(false);
    expect(alive(grandchild!)).toBe(false);
  });

  it('does not wait for a grandchild that holds the pipes after the leader exits', async () => {
    const started = Date.now();
    const r = await run(['sh', '-c', 'sleep 20 & echo started'], { timeoutMs: 5000 });
    expect(r.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(10_000); // the grandchild holds the pipes 20 s
  });

  it('reports a command that cannot start', async () => {
    await expect(run(['/nonexistent/esxcfg-route', '-l'], { timeoutMs: 1000 })).rejects.toBeInstanceOf(CommandError);
  });

  it('refuses to build a command line from a missing value', async () => {
    await expect(run(['esxcfg-route', '-a', ''], { timeoutMs: 1000 })).rejects.toBeInstanceOf(MissingValueError);
  });

});

// issue 27: an `ip` or `esxcfg-route` that SIGKILL does not end (uninterruptible sleep on a disk or in the kernel) and
// a route read that fails is read again next pass: each pass left one more such process behind. Here the command reads
// a file on a FUSE file system that stopped answering, which holds it in uninterruptible sleep as a hung disk does.
const fuse = mountsUnavailableReason();
(fuse && process.env.CI !== 'true' ? describe.skip : describe)('a command line that SIGKILL does not end (stallfs, FUSE)', () => {
  it('is not started again while the killed run lives, other lines are; once it ends, it is', async () => {
    const d = mkdtempSync(join(tmpdir(), 'reroute-exec-d-'));
    const fs = await mountStallfs(join(d, 'backing'), join(d, 'mnt'));
    try {
      writeFileSync(join(d, 'backing', 'routes'), 'x');
      // each start noted (its pid: exec keeps it) on a disk that answers; no /proc scan (pgrep reads every process's
      // command line, which can itself hang on another test's stalled FUSE process)
      const starts = join(d, 'starts');
      const cat = join(d, 'cat');
      writeFileSync(cat, `#!/bin/sh\necho $$ >> ${starts}\nexec /bin/cat "$@"\n`, { mode: 0o755 });
      const startsSoFar = () => readFileSync(starts, 'utf8').trim().split('\n');
      fs.stall();
      const line = [cat, join(d, 'mnt', 'routes')];
      await expect(run(line, { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandTimeoutError);
      // the next pass, at once: the killed run is given its second to end, then refused
      const t0 = Date.now();
      await expect(run(line, { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandStuckError);
      expect(Date.now() - t0).toBeLessThan(1500);
      const stuck = startsSoFar();
      expect(stuck).toHaveLength(1); // the code before: 2
      expect(readFileSync(`/proc/${stuck[0]}/stat`, 'utf8')).toMatch(/^\d+ \(.*\) D /); // killed, and still there: uninterruptible sleep
      for (let pass = 0; pass < 3; pass++) {
        const t = Date.now();
        await expect(run(line, { timeoutMs: 300 })).rejects.toThrow(/not started: pid \d+, a run of it killed at its timeout, has not ended/);
        expect(Date.now() - t).toBeLessThan(100); // refused at once: no further process
      }
      expect(startsSoFar()).toEqual(stuck);
      // the same program on another command line is not held (a route switch is never held by a stuck read)
      expect((await run([cat, '/proc/self/stat'], { timeoutMs: 2000 })).status).toBe(0);
      fs.resume();
      for (let i = 0; i < 50 && alive(Number(stuck[0])); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 50));
      expect((await run(line, { timeoutMs: 2000 })).stdout).toBe('x');
    } finally {
      fs.unmount();
    }
  });
});
