// The real bin/reroute as a child process: exit codes, lock contention, stale takeover, deadline, log flushing.
// Every address here is loopback (127.0.0.x) and the route table is the fake ESXi host's file: nothing leaves this
// machine and the root namespace's routes are never touched.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fakeEsxiHost, type FakeEsxiHost } from '../support/esxi';
import { rawConfig, writeConfig } from '../support/config';

/** Whether a lock is there (a lock is a symlink to its owner record, which names no file: existsSync says no). */
const lockExists = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'reroute');
const VERSION = (require('../../package.json') as { version: string }).version;

interface Lab {
  host: FakeEsxiHost;
  dir: string;
  config: string;
}

const made: FakeEsxiHost[] = [];
// a fake command a test left hung (its pass killed with -9) goes with its host
afterEach(() => {
  for (const host of made.splice(0)) host.cleanup();
});

function lab(over: Record<string, unknown> = {}, hostState: Parameters<typeof fakeEsxiHost>[0] = {}): Lab {
  const host = fakeEsxiHost(hostState);
  host.writeState({
    routes: [
      { network: '192.168.33.2', netmask: '255.255.255.255', gateway: '127.0.0.15', iface: 'vmk1' },
      { network: '127.0.0.0', netmask: '255.0.0.0', gateway: null, iface: 'vmk1' },
    ],
  });
  made.push(host);
  const { dir, path } = writeConfig((d) => ({
    ...rawConfig(d),
    platform: 'esxi',
    hypervisorIp: '127.0.0.11',
    local: { dataIp: '127.0.0.15', manageIp: '127.0.0.25' },
    scvms: [
      { dataIp: '127.0.0.16', manageIp: '127.0.0.26' },
      { dataIp: '127.0.0.17', manageIp: '127.0.0.27' },
    ],
    api: { port: 9, connectTimeoutMs: 200, requestTimeoutMs: 300, budgetMs: 800 },
    probe: { count: 3, minReplies: 2, intervalMs: 20, waitMs: 200, timeoutMs: 600 },
    ...over,
  }));
  return { host, dir, config: path };
}

function cli(l: Lab | null, args: string[], extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...(l ? ['--config', l.config] : []), ...args], {
    encoding: 'utf8',
    env: { ...(l ? l.host.env : process.env), ...extraEnv },
    timeout: 30_000,
  });
}

function logText(l: Lab): string {
  const p = join(l.dir, 'log', 'scvm_failure.log');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

describe('reroute CLI', () => {
  it('version prints only the version and a newline', () => {
    const r = cli(null, ['version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(r.stderr).toBe('');
  });

  it('version --json adds node, platform and build time', () => {
    const r = cli(null, ['version', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({
      version: VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      buildTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('--help documents the exit codes', () => {
    const r = cli(null, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:\n {2}0 +pass done.*\n {2}1 +pass failed.*\n {2}2 +usage or config error.*\n {2}3 +another pass holds the lock/);
  });

  it('output into a closed pipe (reroute ... | head) is dropped quietly: no EPIPE crash, the exit code stays', () => {
    // `true` exits without reading, so every write of the CLI meets a closed pipe
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" "$@" | true`, 'sh', '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const bad = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" "$@" 2>&1 | true`, 'sh', 'bogus'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(bad.stderr).toBe('');
    expect(bad.status).toBe(2);
  });

  it('an unknown command or a bad option is exit 2', () => {
    expect(cli(null, ['bogus']).status).toBe(2);
    expect(cli(null, ['loop', '--bogus']).status).toBe(2);
  });

  it('loop with a bad config exits 2 with one line naming the key, and touches nothing', () => {
    const l = lab({ probe: { payloadBytes: 2000 } });
    const r = cli(l, ['loop']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/key "probe.payloadBytes" is 2000, expected a payload of at most 1472 bytes/);
    expect(l.host.calls()).toEqual([]);
    expect(existsSync(join(l.dir, 'state.json'))).toBe(false);
  });

  it('a bad config under cron reaches the log: one line, the same error once an hour, another error at once', () => {
    const l = lab({ probe: { payloadBytes: 2000 } });
    expect(cli(l, ['loop']).status).toBe(2);
    expect(cli(l, ['loop']).status).toBe(2);
    const lines = () => logText(l).split('\n').filter(Boolean);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(
      /^\[PID:\d+\] .* ERROR config .*key "probe\.payloadBytes" is 2000.*; no pass is made until the config is fixed \(exit 2\)$/,
    );
    const raw = JSON.parse(readFileSync(l.config, 'utf8'));
    writeFileSync(l.config, JSON.stringify({ ...raw, probe: {}, passDeadlineMs: 5 }));
    expect(cli(l, ['loop']).status).toBe(2);
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatch(/ERROR config .*key "passDeadlineMs" is 5/);
  });

  it('refuses a config file that others can write', () => {
    const l = lab();
    chmodSync(l.config, 0o666);
    const r = cli(l, ['loop']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/writable by group or others .*chmod go-w/);
  });

  it('route needs --target or --auto, and a valid address', () => {
    const l = lab();
    expect(cli(l, ['route']).stderr).toMatch(/give --target <ip> .* or --auto/);
    const r = cli(l, ['route', '--target', '10.0.0.1 via 1.2.3.4']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a dotted-quad IPv4 address/);
    expect(cli(l, ['route', '--target', '127.0.0.16', '--for', 'soon']).stderr).toMatch(/--for "soon" is not a duration/);
  });

  it('a first pass keeps the route, issues no route command, logs, and writes the state file and the record', () => {
    const l = lab();
    const r = cli(l, ['loop']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(l.host.changingCalls()).toEqual([]);
    expect(logText(l)).toMatch(/^\[PID:\d+\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} INFO pass: local /m);
    const state = JSON.parse(readFileSync(join(l.dir, 'state.json'), 'utf8'));
    expect(state).toMatchObject({ version: 2, engine: { target: '127.0.0.15' } });
    const record = JSON.parse(readFileSync(join(l.dir, 'run', 'record.json'), 'utf8'));
    expect(record.lastPass).toMatchObject({ ok: true });
    expect(record.engine.journal).toHaveLength(1);
    expect(readdirSync(join(l.dir, 'var-log'))).toEqual(['scvm_failure.log']);
  });

  it('steady passes after the first rewrite neither the state file nor a pass line; only the RAM record changes', () => {
    const l = lab();
    expect(cli(l, ['loop']).status).toBe(0);
    const state = statSync(join(l.dir, 'state.json'));
    const passLines = () => logText(l).split('\n').filter((x) => / INFO pass: | WARN no fresh session list /.test(x));
    expect(passLines()).toHaveLength(2);
    for (let i = 0; i < 3; i++) expect(cli(l, ['loop']).status).toBe(0);
    const after = statSync(join(l.dir, 'state.json'));
    expect([after.ino, after.mtimeMs]).toEqual([state.ino, state.mtimeMs]);
    expect(passLines()).toHaveLength(2); // the API outage warning too: once a minute, remembered in the record
    const record = JSON.parse(readFileSync(join(l.dir, 'run', 'record.json'), 'utf8'));
    // four alike passes: the first three folded into one entry, the last alone until the next pass
    expect(record.engine.journal.map((j: { repeats?: number }) => j.repeats)).toEqual([3, undefined]);
  });

  it('install started as bin/reroute writes cron lines that run the loader dist/reroute.js, not the shim', () => {
    const root = mkdtempSync(join(tmpdir(), 'reroute-root-'));
    try {
      // every path the cron line names must exist inside --root
      const loader = join(ROOT, 'dist', 'reroute.js');
      for (const f of [process.execPath, loader, '/etc/reroute/config.json']) {
        mkdirSync(join(root, dirname(f)), { recursive: true });
        writeFileSync(join(root, f), '');
      }
      const r = spawnSync(
        process.execPath,
        [BIN, '--config', '/etc/reroute/config.json', '--dry-run', 'install', '--every', '30', '--root', root, '--platform', 'linux'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.includes('# reroute-agent'));
      expect(lines).toHaveLength(3); // the long-lived mode: a runner a minute (even and odd minutes), the guard line
      for (const l of lines) expect(l).toContain(` ${process.execPath} ${loader} loop --every 30 --config /etc/reroute/config.json `);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('status shows the mode, the route and the files in use', () => {
    const l = lab();
    cli(l, ['loop']);
    const r = cli(l, ['status']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mode: +LOOP/m);
    expect(r.stdout).toMatch(/^route: +192\.168\.33\.2\/32 via 127\.0\.0\.15/m);
    expect(r.stdout).toContain(join(l.dir, 'state.json'));
    const j = JSON.parse(cli(l, ['status', '--json']).stdout);
    expect(j).toMatchObject({ mode: 'LOOP', route: { nextHops: ['127.0.0.15'] } });
  });

  it('route --target refuses an unknown address unless --force, pins and applies a known one, --auto unpins', () => {
    const l = lab();
    const unknown = cli(l, ['route', '--target', '127.0.0.99']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/127\.0\.0\.99 is not a known SCVM address .*--force/);
    expect(l.host.changingCalls()).toEqual([]);

    const r = cli(l, ['route', '--target', '127.0.0.16', '--for', '1h']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/moved from 127\.0\.0\.15 to 127\.0\.0\.16/);
    expect(l.host.readState().routes.find((x) => x.network === '192.168.33.2')?.gateway).toBe('127.0.0.16');
    expect(JSON.parse(cli(l, ['status', '--json']).stdout).mode).toBe('ROUTE');

    const auto = cli(l, ['route', '--auto']);
    expect(auto.status).toBe(0);
    expect(auto.stdout).toMatch(/pin to 127\.0\.0\.16 removed/);
    expect(JSON.parse(cli(l, ['status', '--json']).stdout).pin).toBeNull();
  });

  it('two concurrent passes: the second exits 3 at once naming the holder', async () => {
    const l = lab({ commandTimeoutMs: 6000 }, {});
    l.host.writeState({ hang: ['-l'] });
    const first = spawn(process.execPath, [BIN, '--config', l.config, 'loop'], { env: l.host.env });
    const firstExit = new Promise<number | null>((res) => first.on('exit', (c) => res(c)));
    const lockFile = join(l.dir, 'run', 'reroute.lock');
    while (!lockExists(lockFile)) await new Promise((r) => setTimeout(r, 20));
    const second = cli(l, ['loop']);
    expect(second.status).toBe(3);
    // at once: the first pass, whose route read hangs for 6 s, still holds the lock
    expect(first.exitCode).toBeNull();
    expect(second.stderr).toMatch(new RegExp(`another reroute pass holds the lock .*\\(pid ${first.pid}\\)`));
    // its `esxcfg-route -l` hung and was killed at the command timeout; an unread route is not changed blindly
    expect(await firstExit).toBe(0);
    expect(l.host.changingCalls()).toEqual([]);
  });

  it('route waits for a pass in progress (a pass runs every second in the long-lived mode) instead of exiting 3', async () => {
    // the first pass's route read hangs for 3 s (its command timeout): seeing the hang can take a loaded machine a
    // while, and route must still start well before that pass ends
    const l = lab({ commandTimeoutMs: 3000 });
    l.host.writeState({ hang: ['-l'] });
    const first = spawn(process.execPath, [BIN, '--config', l.config, 'loop'], { env: l.host.env });
    const firstExit = new Promise<number | null>((res) => first.on('exit', (c) => res(c)));
    const lockFile = join(l.dir, 'run', 'reroute.lock');
    const hanging = () => lockExists(lockFile) && l.host.calls().some((c) => c.tool === 'esxcfg-route' && c.argv[0] === '-l');
    while (!hanging()) await new Promise((r) => setTimeout(r, 20));
    l.host.writeState({ hang: [] }); // only the first pass's route read hangs, until its command timeout
    expect(first.exitCode).toBeNull();
    const started = Date.now();
    const route = spawnSync(process.execPath, [BIN, '--config', l.config, 'route', '--auto'], { encoding: 'utf8', env: l.host.env });
    expect(route.stderr).toBe('');
    expect(route.status).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(1000); // it did wait for the first pass
    expect(route.stdout).toMatch(/no pin was set: LOOP mode/);
    expect(await firstExit).toBe(0);
  });

  it('a pass killed with -9 does not block the next run: its lock is taken over at once', async () => {
    const l = lab({ passDeadlineMs: 30_000, commandTimeoutMs: 20_000 });
    l.host.writeState({ hang: ['-l'] });
    const first = spawn(process.execPath, [BIN, '--config', l.config, 'loop'], { env: l.host.env });
    const exited = new Promise((r) => first.on('exit', r));
    const lockFile = join(l.dir, 'run', 'reroute.lock');
    while (!lockExists(lockFile)) await new Promise((r) => setTimeout(r, 20));
    expect(cli(l, ['loop']).status).toBe(3); // alive: it holds the lock
    first.kill('SIGKILL');
    await exited;
    l.host.writeState({ hang: [] });
    const next = cli(l, ['loop']);
    expect(next.status).toBe(0);
    expect(logText(l)).toMatch(new RegExp(`lock .* taken over from pid ${first.pid}, which is gone`));
  });

  it('past the pass deadline the run logs what it was doing, kills its children and exits 1', () => {
    const l = lab({ passDeadlineMs: 1500, commandTimeoutMs: 20_000 });
    l.host.writeState({ hang: ['-l'] });
    const started = Date.now();
    const r = cli(l, ['loop']);
    expect(r.status).toBe(1);
    expect(Date.now() - started).toBeLessThan(12_000); // the deadline, not the 20 s command timeout
    expect(r.stderr).toMatch(/ran past its deadline of 1500 ms/);
    expect(logText(l)).toMatch(/ERROR the pass \(while observing.*\) ran past its deadline of 1500 ms; killed [1-9]\d* child process group/);
    expect(l.host.leftovers()).toEqual([]);
  });

  it('30 runs in a row with a tiny rotation size lose no log line and keep them in order', () => {
    const l = lab({ log: { level: 'debug', maxBytes: 4096, maxFiles: 50 } });
    const pids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = spawnSync(process.execPath, [BIN, '--config', l.config, 'loop'], { encoding: 'utf8', env: l.host.env });
      expect(r.status).toBe(0);
      pids.push(r.pid!);
    }
    const base = join(l.dir, 'log', 'scvm_failure.log');
    const rotated = readdirSync(join(l.dir, 'log'))
      .filter((f) => /^scvm_failure\.log(\.\d+)?$/.test(f))
      .map((f) => ({ f, n: Number(/\.log\.?(\d*)$/.exec(f)![1] || '0') }))
      .sort((a, b) => b.n - a.n); // oldest (highest number) first, the live file last
    expect(rotated.length).toBeGreaterThan(1);
    const text = rotated.map(({ f }) => readFileSync(join(l.dir, 'log', f), 'utf8')).join('');
    expect(text.endsWith('\n')).toBe(true);
    const passLines = text.split('\n').filter((x) => / (INFO|DEBUG) pass: /.test(x));
    const seen = passLines.map((x) => Number(/^\[PID:(\d+)\]/.exec(x)![1]));
    expect(seen).toEqual(pids);
    expect(existsSync(base)).toBe(true);
  }, 120_000);
});

