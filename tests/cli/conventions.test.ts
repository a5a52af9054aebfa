// CLI conventions (issue "First run and everyday CLI"): help and version flags, one error prefix, JSON errors, and
// the diagnostics that work on a host without a config file. The real bin/reroute runs as a child process; the only
// address probed is loopback.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'reroute');
const VERSION = (require('../../package.json') as { version: string }).version;
const NO_CONFIG = join(mkdtempSync(join(tmpdir(), 'reroute-noconf-')), 'config.json');

function cli(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, REROUTE_CONFIG: NO_CONFIG },
    timeout: 30_000,
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('help and version', () => {
  it('bare `reroute` prints the help on stderr and exits 2', () => {
    const r = cli();
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: reroute \[options\] \[command\]/);
    expect(r.stderr).toMatch(/Exit codes:/);
  });

  it.each([['--version'], ['-V']])('%s prints the version only, exit 0', (flag) => {
    const r = cli(flag);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(r.stderr).toBe('');
  });

  it('`help` and `help <command>` print on stdout and exit 0', () => {
    const all = cli('help');
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(/^Usage: reroute \[options\] \[command\]/);
    const loop = cli('help', 'loop');
    expect(loop.status).toBe(0);
    expect(loop.stdout).toMatch(/^Usage: reroute loop \[options\]/);
  });

  it('an unknown help topic is a usage error: one line, exit 2', () => {
    const r = cli('help', 'bogus');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual(["reroute: unknown help topic 'bogus': use a command or one of datastore-lost, pin, scvm-upgrade, rollout, rollback, downgrade, files (reroute help lists them)"]);
  });
});

describe('errors: one prefix, one line', () => {
  it.each([
    [['bogus'], /^reroute: unknown command 'bogus' \(run reroute --help for usage\)$/],
    [['loop', '--bogus'], /^reroute: unknown option '--bogus' \(run reroute --help for usage\)$/],
    [['route', '--target'], /^reroute: option '--target <ip>' argument missing \(run reroute --help for usage\)$/],
    [['probe', 'not-an-ip'], /^reroute: probe: not an IPv4 address: not-an-ip/],
    [['loop'], /^reroute: config: cannot read config file .*config\.json \(ENOENT\)/],
    [['simulate', '/nonexistent/timeline.json'], /^reroute: timeline \/nonexistent\/timeline\.json: cannot read it/],
  ])('reroute %j', (args, line) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(line);
  });
});

describe('errors with --json: one JSON object on stderr, the same exit code', () => {
  it.each([
    [['probe', '--json', 'not-an-ip'], 'E_USAGE', /not an IPv4 address: not-an-ip/],
    [['probe', '--json', '--bogus'], 'E_USAGE', /unknown option '--bogus'/],
    [['status', '--json'], 'E_CONFIG', /cannot read config file .*\(ENOENT\)/],
    [['simulate', '--json', '/nonexistent/timeline.json'], 'E_USAGE', /cannot read it/],
    [['doctor', '--json', '--root', '/nonexistent/root'], 'E_USAGE', /^--root \/nonexistent\/root: no such directory/],
  ])('reroute %j', (args, code, message) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(JSON.parse(r.stderr)).toEqual({ error: { code, message: expect.stringMatching(message) } });
  });
});

describe('diagnostics without a config file', () => {
  it('probe <ip> uses the default probe settings; --verbose says so in one stderr line', () => {
    const r = cli('--verbose', 'probe', '--json', '127.0.0.1');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { settings: { count: number; waitMs: number }; results: { ip: string; reachable: boolean }[] };
    expect(out.settings).toMatchObject({ count: 10, waitMs: 1000, minReplies: 3 });
    expect(out.results).toEqual([expect.objectContaining({ ip: '127.0.0.1', reachable: true })]);
    expect(lines(r.stderr).filter((l) => /no config file/.test(l))).toEqual([
      `info: no config file at ${NO_CONFIG}: probing with the default probe settings`,
    ]);
    expect(cli('probe', '127.0.0.1').stderr).toBe('');
  });

  it('probe with no IP and no config names both ways out', () => {
    const r = cli('probe');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      `reroute: probe: no IPs given and no config file at ${NO_CONFIG} to take the SCVMs from: give the IPs, or --config <file>`,
    );
  });

  it('simulate needs no config file: the timeline carries its own', () => {
    const r = cli('simulate', join(ROOT, 'examples', 'timelines', 'scvm-crash.json'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^summary scvm-crash: 2 switch\(es\)/m);
  });
});
