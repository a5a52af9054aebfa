import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/runtime/exec';
import { CommandError, CommandTimeoutError, MissingValueError } from '../../lib/errors';

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
