// install / uninstall against a temp --root: what lands where, idempotence, exact removal, refusals.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run as install } from '../../lib/cli/commands/install';
import { run as uninstall } from '../../lib/cli/commands/uninstall';
import type { CommandEnv } from '../../lib/cli/context';
import { BLOCK_BEGIN, LINE_MARKER } from '../../lib/install/crontab';
import { loopCommand, presentPath, restartCrond } from '../../lib/install/targets';
import { detectPlatform } from '../../lib/config/platform';
import { MissingValueError, UsageError } from '../../lib/errors';
import { runnerLines as cronRunnerLines } from '../support/cron-lines';

const NODE = '/opt/node/bin/node';
const ENTRY = '/opt/reroute/dist/reroute.js';
const CONFIG = '/scratch/reroute/config.json';
const ESXI_LOCAL_SH = '#!/bin/sh ++group=host/vim/vmvisor/boot\n\n# local configuration options\n\nexit 0\n';
const ESXI_CRONTAB = '#min hour day mon dow command\n1    1    *   *   *   /sbin/tmpwatch.py\n';

let root: string;
let out: string[];

function env(dryRun = false, config = CONFIG): CommandEnv {
  return {
    globals: { config, dryRun, verbose: false },
    display: { out: (l) => out.push(l), err: (l) => out.push(`ERR ${l}`) },
  };
}

function put(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  chmodSync(join(root, path), mode);
}

const read = (path: string) => readFileSync(join(root, path), 'utf8');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'reroute-install-'));
  out = [];
  put(NODE, '', 0o755);
  put(ENTRY, '');
  put(CONFIG, '{}', 0o600);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const opts = (every: number | undefined, platform?: string) => ({ every, root, platform, node: NODE, entry: ENTRY });
/** The long-lived mode's lines (the config, {}, names no record path: the runner lock is the default's). */
const runnerLines = (every: number, user?: string) =>
  cronRunnerLines(`${NODE} ${ENTRY} loop --every ${every} --config ${CONFIG} >/dev/null 2>&1`, { user });

describe('ESXi under --root', () => {
  beforeEach(() => {
    put('/etc/vmware/esx.conf', '/adv/Misc/HostName = "esx1"\n');
    put('/var/spool/cron/crontabs/root', ESXI_CRONTAB, 0o600);
    put('/etc/rc.local.d/local.sh', ESXI_LOCAL_SH, 0o1755);
  });

  test('writes the root crontab and the boot block; detects ESXi inside the root', async () => {
    expect(await install(opts(undefined), env())).toBe(0); // the default: a pass a second, one process a minute
    const tab = read('/var/spool/cron/crontabs/root');
    expect(tab).toBe(ESXI_CRONTAB + runnerLines(1).map((l) => `${l}\n`).join(''));
    const sh = read('/etc/rc.local.d/local.sh');
    expect(sh.indexOf(BLOCK_BEGIN)).toBeGreaterThan(0);
    expect(sh.endsWith('# <<< reroute-agent\nexit 0\n')).toBe(true);
    // The sticky bit puts local.sh into ESXi's configuration backup: a rewrite must keep it.
    expect(statSync(join(root, '/etc/rc.local.d/local.sh')).mode & 0o7777).toBe(0o1755);
    expect(statSync(join(root, '/var/spool/cron/crontabs/root')).mode & 0o777).toBe(0o600);
    expect(out[0]).toMatch(/a pass every 1 s \(one long-lived process a minute\) on esxi under /);
    expect(out.join('\n')).toContain('crond not restarted (--root');
  });

  test('install twice changes nothing; another cadence replaces ours only; uninstall restores both files exactly', async () => {
    await install(opts(10), env());
    const tab1 = read('/var/spool/cron/crontabs/root');
    const sh1 = read('/etc/rc.local.d/local.sh');
    out = [];
    await install(opts(10), env());
    expect(read('/var/spool/cron/crontabs/root')).toBe(tab1);
    expect(read('/etc/rc.local.d/local.sh')).toBe(sh1);
    expect(out.filter((l) => l.startsWith('unchanged:'))).toHaveLength(2);

    await install(opts(120), env());
    expect(read('/var/spool/cron/crontabs/root').split('\n').filter((l) => l.endsWith(LINE_MARKER))).toEqual([
      `*/2 * * * * ${NODE} ${ENTRY} loop --config ${CONFIG} >/dev/null 2>&1 ${LINE_MARKER}`,
    ]);
    expect(read('/var/spool/cron/crontabs/root').startsWith(ESXI_CRONTAB)).toBe(true);

    expect(await uninstall({ root }, env())).toBe(0);
    expect(read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
    expect(read('/etc/rc.local.d/local.sh')).toBe(ESXI_LOCAL_SH);
    out = [];
    await uninstall({ root }, env());
    expect(out.slice(1)).toEqual([
      `nothing to remove in ${join(root, '/var/spool/cron/crontabs/root')}`,
      `nothing to remove in ${join(root, '/etc/rc.local.d/local.sh')}`,
    ]);
  });

  test('--dry-run prints the lines and writes nothing', async () => {
    await install(opts(15), env(true));
    expect(read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
    expect(read('/etc/rc.local.d/local.sh')).toBe(ESXI_LOCAL_SH);
    expect(out.filter((l) => l.startsWith('would write'))).toHaveLength(2);
    expect(out.filter((l) => l.endsWith(LINE_MARKER))).toHaveLength(3);
    expect(out).toContain('would restart crond (/usr/lib/vmware/busybox/bin/busybox crond)');
  });
});

describe('Xen / Linux under --root', () => {
  test('writes /etc/cron.d/reroute with the user field, 0644; uninstall deletes it', async () => {
    put('/etc/xensource-inventory', "PRODUCT_BRAND='XenServer'\n");
    put('/etc/crontab', 'SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n');
    await install(opts(20), env());
    expect(out[0]).toMatch(/on xen/);
    const file = '/etc/cron.d/reroute';
    expect(read(file).split('\n').slice(0, 3)).toEqual(runnerLines(20, 'root'));
    expect(statSync(join(root, file)).mode & 0o777).toBe(0o644);
    expect(existsSync(join(root, '/etc/rc.local.d/local.sh'))).toBe(false);
    await uninstall({ root }, env());
    expect(existsSync(join(root, file))).toBe(false);
    expect(read('/etc/crontab')).toContain('run-parts'); // never touched
  });

  test('a foreign line an admin added to our cron.d file survives uninstall', async () => {
    await install(opts(30, 'linux'), env());
    writeFileSync(join(root, '/etc/cron.d/reroute'), read('/etc/cron.d/reroute') + '0 3 * * * root /usr/local/bin/other\n');
    await uninstall({ root, platform: 'linux' }, env());
    expect(read('/etc/cron.d/reroute')).toBe('0 3 * * * root /usr/local/bin/other\n');
  });

  test('paths with spaces are quoted for the shell', async () => {
    put('/vmfs/volumes/data store 1/reroute/config.json', '{}', 0o600);
    await install(opts(30, 'linux'), env(false, '/vmfs/volumes/data store 1/reroute/config.json'));
    expect(read('/etc/cron.d/reroute')).toContain(`loop --every 30 --config '/vmfs/volumes/data store 1/reroute/config.json' >/dev/null`);
  });
});

describe('refusals', () => {
  test('a config path built from a missing value is refused, nothing written (field incident: /vmfs/volumes/None/...)', async () => {
    put('/vmfs/volumes/None/reroute/config.json', '{}', 0o600);
    await expect(install(opts(10, 'linux'), env(false, '/vmfs/volumes/None/reroute/config.json'))).rejects.toThrow(MissingValueError);
    await expect(install({ ...opts(10, 'linux'), node: 'undefined/bin/node' }, env())).rejects.toThrow(MissingValueError);
    expect(existsSync(join(root, '/etc/cron.d/reroute'))).toBe(false);
  });

  test('files that do not exist under --root are refused, naming the option', async () => {
    await expect(install({ ...opts(10, 'linux'), entry: '/opt/reroute/missing.js' }, env())).rejects.toThrow(
      /^--entry \/opt\/reroute\/missing\.js: the agent entry not found under --root .*: fix the path$/,
    );
    await expect(install(opts(10, 'linux'), env(false, '/etc/reroute.json'))).rejects.toThrow(/^--config \/etc\/reroute\.json: /);
    await expect(install({ ...opts(10, 'linux'), node: 'bin/node' }, env())).rejects.toThrow(/^--node bin\/node: node must be an absolute path$/);
  });

  test('bad --every, --platform and --root are usage errors (exit 2)', async () => {
    await expect(install(opts(0.1, 'linux'), env())).rejects.toThrow(UsageError);
    await expect(install(opts(90, 'linux'), env())).rejects.toThrow(/^--every 90: /);
    await expect(install(opts(10, 'windows'), env())).rejects.toThrow(/^--platform windows: use one of esxi, xen, linux/);
    await expect(install({ ...opts(10), root: join(root, 'nope') }, env())).rejects.toThrow(/^--root .*nope: no such directory/);
    await expect(uninstall({ root: join(root, 'nope') }, env())).rejects.toThrow(UsageError);
    expect(existsSync(join(root, '/etc/cron.d/reroute'))).toBe(false);
  });

  test('presentPath refuses stringified missing values in any segment', () => {
    for (const bad of ['', ' ', '/vmfs/volumes/None/x', '/a/undefined', 'null', '/a/NaN/b']) {
      expect(() => presentPath('a path', bad)).toThrow(MissingValueError);
    }
    expect(presentPath('a path', '/vmfs/volumes/datastore1/none-such/')).toBe('/vmfs/volumes/datastore1/none-such/');
    expect(() => loopCommand(NODE, undefined as unknown as string, CONFIG)).toThrow(MissingValueError);
  });
});

describe('platform detection and crond restart', () => {
  test('detectPlatform reads marker files inside the root, and the kernel name when there is no root', () => {
    expect(detectPlatform({ root })).toBe('linux');
    expect(detectPlatform({ kernel: 'VMkernel' })).toBe('esxi');
    expect(detectPlatform({ kernel: 'Linux' })).not.toBe('esxi');
    put('/etc/xensource-inventory', '');
    expect(detectPlatform({ root })).toBe('xen');
    put('/etc/vmware/esx.conf', '');
    expect(detectPlatform({ root })).toBe('esxi');
  });

  test('restartCrond kills the process named by the pid file, then starts the daemon', async () => {
    const old = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise((r) => old.on('exit', (_c, sig) => r(sig)));
    const pidFile = join(root, 'crond.pid');
    writeFileSync(pidFile, `${old.pid}\n`);
    const marker = join(root, 'started');
    const said = await restartCrond({ pidFile, start: ['/bin/sh', '-c', `echo ok > ${marker}`] });
    expect(await exited).toBe('SIGTERM');
    expect(said).toEqual([`stopped crond (pid ${old.pid})`, `started crond (/bin/sh -c echo ok > ${marker})`]);
    expect(readFileSync(marker, 'utf8')).toBe('ok\n');
  });

  test('restartCrond does not start a second crond when the old one will not stop', async () => {
    const stubborn = spawn('/bin/sh', ['-c', 'trap "" TERM; while :; do sleep 1; done'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((r) => setTimeout(r, 200)); // let the trap be set
      const pidFile = join(root, 'crond.pid');
      writeFileSync(pidFile, String(stubborn.pid));
      const marker = join(root, 'started');
      const said = await restartCrond({ pidFile, start: ['/bin/sh', '-c', `echo ok > ${marker}`] }, 300);
      expect(said).toEqual([`crond pid ${stubborn.pid} did not stop within 300 ms: not starting another; restart crond by hand`]);
      expect(existsSync(marker)).toBe(false);
    } finally {
      process.kill(-stubborn.pid!, 'SIGKILL');
    }
  });

  test('restartCrond with no pid file only starts, and reports a start that fails', async () => {
    const said = await restartCrond({ pidFile: join(root, 'none.pid'), start: ['/bin/sh', '-c', 'exit 3'] });
    expect(said).toEqual([`no ${join(root, 'none.pid')}: crond was not running`, 'could not start crond (/bin/sh -c exit 3): exit 3']);
    writeFileSync(join(root, 'junk.pid'), 'None\n');
    const said2 = await restartCrond({ pidFile: join(root, 'junk.pid'), start: ['/bin/true'] });
    expect(said2[0]).toMatch(/names no live process \("None"\)/);
  });
});

test('a symlinked node is accepted as it is written (the link, not its target, goes into cron)', async () => {
  const link = '/usr/local/bin/node';
  mkdirSync(join(root, '/usr/local/bin'), { recursive: true });
  symlinkSync(join(root, NODE), join(root, link));
  await install({ ...opts(60, 'linux'), node: link }, env());
  expect(read('/etc/cron.d/reroute')).toBe(`* * * * * root ${link} ${ENTRY} loop --config ${CONFIG} >/dev/null 2>&1 ${LINE_MARKER}\n`);
});
