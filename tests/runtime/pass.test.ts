// The frame of a pass and its state file (addresses here are data: nothing is sent). The state is written early, while
// the SCVM answers the heartbeat, and again only when it changed after that or the pass failed. Each atomic write is
// a new file, so its inode tells writes apart.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withPass } from '../../lib/runtime/pass';
import { writeConfig } from '../support/config';

describe('withPass and the state file', () => {
  let dir: string;
  let config: string;
  const state = () => join(dir, 'state.json');
  const read = () => JSON.parse(readFileSync(state(), 'utf8'));
  const globals = (dryRun = false) => ({ config, dryRun, verbose: false });
  /** The early write's fsyncs run on the thread pool: its file is in place a little later. */
  const landed = async () => {
    for (let i = 0; i < 200 && !existsSync(state()); i++) await new Promise((r) => setTimeout(r, 5));
    return statSync(state()).ino;
  };

  beforeEach(() => {
    ({ dir, path: config } = writeConfig());
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an early write stands when nothing changed after it', async () => {
    let inoEarly = 0;
    await withPass(globals(), 'test', async (ctx) => {
      ctx.state.pin = { target: '10.10.85.16', until: null, setAt: 1 };
      ctx.writeStateEarly();
      ctx.writeStateEarly(); // a second call does nothing
      inoEarly = await landed();
    });
    expect(statSync(state()).ino).toBe(inoEarly);
    expect(read()).toMatchObject({ pin: { target: '10.10.85.16' }, lastPass: { ok: true } });
    expect(read().sweep.targets).toEqual(['10.10.85.15', '10.10.85.16', '10.10.85.17']);
  });

  it('a change after the early write (a new API token) is written at the end', async () => {
    let inoEarly = 0;
    await withPass(globals(), 'test', async (ctx) => {
      ctx.writeStateEarly();
      inoEarly = await landed();
      ctx.state.api.token = { value: 'tok-2', expiresAt: 2_000_000_000_000, scvm: '192.168.85.15' };
    });
    expect(statSync(state()).ino).not.toBe(inoEarly);
    expect(read().api.token.value).toBe('tok-2');
  });

  it('a pass that fails after the early write records the failure', async () => {
    await expect(
      withPass(globals(), 'test', async (ctx) => {
        ctx.writeStateEarly();
        throw new Error('heartbeat exploded');
      }),
    ).rejects.toThrow('heartbeat exploded');
    expect(read().lastPass).toMatchObject({ ok: false, error: 'heartbeat exploded' });
  });

  it('a dry run writes nothing, early or late', async () => {
    await withPass(globals(true), 'test', async (ctx) => {
      ctx.writeStateEarly();
    });
    expect(existsSync(state())).toBe(false);
  });

  it('a steady pass leaves its directory fsync to the filesystem; a change that must last waits for it', async () => {
    // node:fs as the state store sees it (a namespace import could not be spied on)
    const fsyncs = jest.spyOn(require('node:fs') as typeof import('node:fs'), 'fsync');
    try {
      await withPass(globals(), 'test', async (ctx) => {
        ctx.writeStateEarly(); // nothing but the record changed
      });
      expect(fsyncs).toHaveBeenCalledTimes(1); // the file's data, before its rename
      fsyncs.mockClear();
      await withPass(globals(), 'test', async (ctx) => {
        ctx.state.pin = { target: '10.10.85.16', until: null, setAt: 1 };
        ctx.writeStateEarly();
      });
      expect(fsyncs).toHaveBeenCalledTimes(2); // and the directory, for the rename
    } finally {
      fsyncs.mockRestore();
    }
    expect(read().pin).toMatchObject({ target: '10.10.85.16' });
  });
});
