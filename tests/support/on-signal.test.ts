// A stopped benchmark undoes what it set up (namespaces, mounts), newest first, then exits as the signal says.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleForChild } from './netns';

async function stopWith(signal: 'SIGINT' | 'SIGTERM'): Promise<{ code: number | null; undone: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'reroute-on-signal-')), 'undone');
  const child = spawn(process.execPath, [bundleForChild('tests/support/on-signal-child.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, undone: readFileSync(file, 'utf8') };
}

describe('undoOnSignal', () => {
  it('SIGTERM undoes what is registered, newest first, skips what was forgotten, and exits 143', async () => {
    expect(await stopWith('SIGTERM')).toEqual({ code: 143, undone: 'second\nfirst\n' });
  });

  it('SIGINT (Ctrl-C) does the same and exits 130', async () => {
    expect(await stopWith('SIGINT')).toEqual({ code: 130, undone: 'second\nfirst\n' });
  });
});
