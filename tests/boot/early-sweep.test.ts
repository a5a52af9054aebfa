// The loader's early sweep: when it may start, and why it does not. Every case here stops before a socket is opened;
// the sweep itself is run by the CLI tests (tests/cli/cli.test.ts) and the end-to-end passes.
import { chmodSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeldLog, loopConfigFlag, startEarlySweep } from '../../lib/boot/early-sweep';
import { probeSchema } from '../../lib/config/schema';
import { recordingLog } from '../support/log';

describe('loopConfigFlag', () => {
  it.each([
    [['loop'], undefined],
    [['loop', '--config', '/etc/r.json'], '/etc/r.json'],
    [['--config=/etc/r.json', 'loop'], '/etc/r.json'],
    [['--verbose', 'loop', '--dry-run'], undefined],
  ])('%j is a loop pass, config %s', (args, config) => {
    expect(loopConfigFlag(args)).toBe(config);
  });

  it.each([[[]], [['route', '--target', '10.10.85.16']], [['loop', '--help']], [['loop', 'extra']], [['loop', '--config']], [['status']]])(
    '%j is not (commander will judge it)',
    (args) => {
      expect(loopConfigFlag(args)).toBeNull();
    },
  );
});

describe('startEarlySweep before any socket', () => {
  let dir: string;
  let config: string;
  let state: string;
  const writeConfig = (body: unknown) => {
    writeFileSync(config, JSON.stringify(body));
    chmodSync(config, 0o600);
  };
  const plan = () => {
    const st = statSync(config);
    return {
      config: { path: config, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
      targets: ['127.0.0.15'],
      probe: probeSchema.parse({}),
    };
  };
  const writeState = (body: unknown, mode = 0o600) => {
    writeFileSync(state, typeof body === 'string' ? body : JSON.stringify(body));
    chmodSync(state, mode);
  };
  const why = (args = ['loop', '--config', config]) => startEarlySweep(args).why;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reroute-early-'));
    config = join(dir, 'config.json');
    state = join(dir, 'state.json');
    writeConfig({ paths: { state } });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('only for loop', () => {
    expect(why(['status', '--config', config])).toBe('not a loop pass');
  });

  it('not without a config file, nor with one that is not JSON', () => {
    expect(why(['loop', '--config', join(dir, 'missing.json')])).toBe('config unreadable');
    writeFileSync(config, '{ nope');
    expect(why()).toMatch(/JSON/);
  });

  it('reads the config named by REROUTE_CONFIG when there is no --config', () => {
    const before = process.env.REROUTE_CONFIG;
    process.env.REROUTE_CONFIG = join(dir, 'missing.json');
    try {
      expect(why(['loop'])).toBe('config unreadable');
      process.env.REROUTE_CONFIG = config;
      expect(why(['loop'])).toBe('no state file');
    } finally {
      if (before === undefined) delete process.env.REROUTE_CONFIG;
      else process.env.REROUTE_CONFIG = before;
    }
  });

  it('not on a first run, nor from a state file others could have written or point to', () => {
    expect(why()).toBe('no state file');
    writeState({ sweep: plan() }, 0o664);
    expect(why()).toBe('the state file is not ours alone');
    writeState({ sweep: plan() });
    renameSync(state, `${state}.real`);
    symlinkSync(`${state}.real`, state);
    expect(why()).toBe('the state file is a symlink');
  });

  it('not from a damaged state file or one without a plan', () => {
    writeState('{"version":1,');
    expect(why()).toBe('the state file is not JSON');
    writeState({ version: 1, pin: null });
    expect(why()).toBe('no sweep plan in the state file');
    writeState({ sweep: { ...plan(), targets: ['10.0.0.256'] } });
    expect(why()).toBe('sweep plan: a target is not an IPv4 address');
  });

  it('not from a plan made with another version of the config file', () => {
    writeState({ sweep: plan() });
    writeConfig({ paths: { state }, probe: { count: 4 } });
    expect(why()).toBe('the config changed since the plan was made');
    writeState({ sweep: { ...plan(), config: { ...plan().config, path: join(dir, 'other.json') } } });
    expect(why()).toBe('the config changed since the plan was made');
  });
});

describe('HeldLog', () => {
  it('holds lines until the pass has its log, then passes them on in order, and every later one', () => {
    const held = new HeldLog();
    held.debug('icmp: could not enlarge the receive buffer', { error: 'EPERM' });
    held.warn('second');
    const log = recordingLog();
    held.pipeTo(log);
    held.error('third');
    expect(log.entries).toEqual([
      { level: 'debug', message: 'icmp: could not enlarge the receive buffer', context: { error: 'EPERM' } },
      { level: 'warn', message: 'second' },
      { level: 'error', message: 'third' },
    ]);
  });
});
