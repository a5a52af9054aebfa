// The agent's file operations (issue 26): whole writes or an error, reads that never wait on something that is not a
// file, and bounded operations that give up on a file system that stops answering without blocking the main thread.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileError } from '../../lib/errors';
import { hangsIn, readText, stuckFileOps, writeFileAtomic, writeFileBounded } from '../../lib/runtime/files';
import { mountStallfs, mountsUnavailableReason } from '../support/stallfs';

const dir = () => mkdtempSync(join(tmpdir(), 'reroute-files-'));

describe('reads take only a regular file, at once', () => {
  it('a FIFO, a symlink and a directory in a file\'s place are errors (ENOTREG), never a wait; a missing file is null', async () => {
    const d = dir();
    execFileSync('mkfifo', [join(d, 'fifo')]);
    writeFileSync(join(d, 'real'), 'x');
    symlinkSync(join(d, 'real'), join(d, 'link'));
    for (const f of ['fifo', 'link', '.']) {
      await expect(readText(join(d, f))).rejects.toMatchObject({ code: 'E_FILE', errno: 'ENOTREG' });
    }
    expect(await readText(join(d, 'none'))).toBeNull();
    expect(await readText(join(d, 'real'))).toBe('x');
  });
});

// in CI these must run (scripts/install-deps installs libfuse3): there a missing piece fails instead of skipping
const fuse = mountsUnavailableReason();
(fuse && process.env.CI !== 'true' ? describe.skip : describe)('on a file system that stops answering or fills up (stallfs, FUSE)', () => {
  it('a write cut short by a nearly full disk is an error; the old file stays whole and no temp file is left', async () => {
    const d = dir();
    const fs = await mountStallfs(join(d, 'backing'), join(d, 'mnt'));
    try {
      const file = join(d, 'mnt', 'state.json');
      await writeFileBounded(file, 'old', { mode: 0o600 });
      fs.setFree(100);
      const text = 'y'.repeat(1000);
      await expect(writeFileBounded(file, text, { mode: 0o600, durable: true })).rejects.toMatchObject({ errno: 'ENOSPC' });
      expect(() => writeFileAtomic(file, text, { mode: 0o600 })).toThrow(/ENOSPC/);
      expect(readFileSync(file, 'utf8')).toBe('old');
      expect(readdirSync(join(d, 'mnt'))).toEqual(['state.json']);
    } finally {
      fs.unmount();
    }
  });

  it('an operation that gets no answer is given up within its bound; the next one in that directory is refused at once', async () => {
    const d = dir();
    const fs = await mountStallfs(join(d, 'backing'), join(d, 'mnt'));
    try {
      const file = join(d, 'mnt', 'state.json');
      writeFileSync(join(d, 'backing', 'state.json'), 'before');
      fs.stall();
      const ticks: number[] = [];
      const ticker = setInterval(() => ticks.push(Date.now()), 50); // the main thread keeps turning
      const t = Date.now();
      await expect(readText(file, 300)).rejects.toMatchObject({ errno: 'EHANG' });
      expect(Date.now() - t).toBeLessThan(1500);
      expect(hangsIn(file)).toBe(true);
      expect(stuckFileOps()).toEqual([expect.objectContaining({ op: 'read', path: file })]);
      const t2 = Date.now();
      await expect(writeFileBounded(file, 'new', { mode: 0o600 })).rejects.toThrow(/has hung for/);
      expect(Date.now() - t2).toBeLessThan(100);
      clearInterval(ticker);
      expect(ticks.length).toBeGreaterThan(4);
      fs.resume();
      await new Promise((r) => setTimeout(r, 300));
      expect(hangsIn(file)).toBe(false); // the read that hung ended: the directory is usable again
      expect(await readText(file)).toBe('before');
    } finally {
      fs.unmount();
    }
  });
});

test('a FileError names the path, the operation and the errno', () => {
  const e = new FileError('/scratch/reroute/state.json', 'write', 'ENOSPC', 'wrote 4096 of 5000 bytes');
  expect(e.message).toBe('write /scratch/reroute/state.json: ENOSPC (wrote 4096 of 5000 bytes)');
  expect(new FileError('/x', 'read', 'EHANG', 'no answer in 1000 ms').message).toBe('read /x: the file system does not answer (no answer in 1000 ms)');
});
