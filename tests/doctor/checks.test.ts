// The checks of `reroute doctor` one by one, in-process, on --root images and temp configs: each reports ok, warn or
// fail with the fix, never throws, and ends within its deadline. The CLI against the ESXi fakes and the namespace
// cluster: tests/doctor/cli-esxi.test.ts and tests/doctor/cluster.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CHECKS, doctorContext, runChecks, type Finding } from '../../lib/doctor';
import { bootCheck } from '../../lib/doctor/boot';
import { bootbankCheck } from '../../lib/doctor/bootbank';
import { configCheck } from '../../lib/doctor/config';
import { cronCheck, cronProgram, guardLockOf } from '../../lib/doctor/cron';
import { filesCheck } from '../../lib/doctor/files';
import { nfsCheck } from '../../lib/doctor/nfs';
import { oldAgentCheck } from '../../lib/doctor/old-agent';
import { persistentCheck } from '../../lib/doctor/persistent';
import { platformCheck } from '../../lib/doctor/platform';
import { runtimeCheck } from '../../lib/doctor/runtime';
import type { Check, DoctorContext } from '../../lib/doctor/types';
import { bootBlock, cronLines, withBootBlock } from '../../lib/install/crontab';
import { crondIn } from '../../lib/install/crond';
import { loopCommand, VIB_INIT_SCRIPT } from '../../lib/install/targets';
import { silentLog } from '../../lib/runtime/log';
import { rawConfig, writeConfig } from '../support/config';
import { describeNetns } from '../support/netns';
import { rootImage, type RootImage } from '../support/root-image';

const PROGRAM = '/opt/reroute/bin/reroute';

let img: RootImage;
let cfg: { dir: string; path: string };
const children: ChildProcess[] = [];

beforeEach(() => {
  img = rootImage();
  // platform "auto": the marker files inside the root image decide
  cfg = writeConfig((d) => ({ ...rawConfig(d), platform: 'auto' }));
  img.put(PROGRAM, '#!/bin/sh\n', 0o755);
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  img.cleanup();
  rmSync(cfg.dir, { recursive: true, force: true });
});

function ctxFor(over: Partial<DoctorContext> = {}, configPath = cfg.path): DoctorContext {
  return { ...doctorContext({ configPath, root: img.root, log: silentLog }), ...over };
}

const RUNNER_LOCK = '/tmp/reroute/run/runner.lock';
/** the runner lock beside the record the test config names, as install puts it in the guard line */
const configsLock = () => join(dirname((JSON.parse(readFileSync(cfg.path, 'utf8')) as { paths: { record: string } }).paths.record), 'runner.lock');
const lines = (every = 10, config = cfg.path, user?: string, runnerLock = configsLock()) =>
  cronLines(every, loopCommand(PROGRAM, null, config, every), { ...(user ? { user } : {}), runnerLock });

/** A process that stands in for nothing but a live pid. */
function livePid(): number {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

describe('config', () => {
  it('ok names the config and what it holds; a missing config fails with the loader\'s line and where keys are', async () => {
    expect(await configCheck.run(ctxFor())).toEqual({
      status: 'ok',
      detail: `${cfg.path}: local SCVM 10.10.85.15, 2 other SCVMs, no API login configured`,
    });
    const none = join(cfg.dir, 'none.json');
    expect(await configCheck.run(ctxFor({}, none))).toEqual({
      status: 'fail',
      detail: `cannot read config file ${none} (ENOENT): create it (see docs/config.md) or pass --config <file>`,
      fix: 'every key is described in docs/config.md',
    });
  });

  it("without a config the other checks use the defaults, the paths those of the image's platform", () => {
    const none = join(cfg.dir, 'none.json');
    const linux = ctxFor({}, none);
    expect(linux.config).toBeNull();
    expect(linux.settings.nfsVip).toBe('192.168.33.2');
    expect(linux.settings.paths).toEqual({
      state: '/var/lib/reroute/state.json',
      record: '/var/run/reroute/record.json',
      lock: '/var/run/reroute/reroute.lock',
      log: '/var/log/scvm_failure.log',
      logLink: null,
      metrics: '/var/run/reroute/reroute.prom',
    });
    img.put('/etc/xensource-inventory', "INSTALLATION_UUID='x'\n");
    expect(ctxFor({}, none).settings.paths.state).toBe('/var/lib/reroute/state.json');
    img.put('/etc/vmware/esx.conf', '/adv/Misc/HostName = "esx1"\n');
    expect(ctxFor({}, none).settings.paths).toMatchObject({ state: '/scratch/reroute/state.json', log: '/scratch/log/scvm_failure.log', logLink: '/var/log/scvm_failure.log' });
  });

  it("a config's platform chooses its default paths; \"auto\" takes the host's; a path it names is kept", () => {
    const xen = writeConfig((d) => ({ ...rawConfig(d), platform: 'xen', paths: { log: '/var/log/reroute/agent.log' } }));
    try {
      img.put('/etc/vmware/esx.conf', '/adv/Misc/HostName = "esx1"\n');
      const ctx = ctxFor({}, xen.path);
      expect(ctx.config?.paths).toEqual({
        state: '/var/lib/reroute/state.json',
        record: '/var/run/reroute/record.json',
        lock: '/var/run/reroute/reroute.lock',
        log: '/var/log/reroute/agent.log',
        logLink: null,
        metrics: '/var/run/reroute/reroute.prom',
      });
      const auto = writeConfig((d) => ({ ...rawConfig(d), platform: 'auto', paths: {} }));
      try {
        expect(ctxFor({}, auto.path).config?.paths.state).toBe('/scratch/reroute/state.json');
      } finally {
        rmSync(auto.dir, { recursive: true, force: true });
      }
    } finally {
      rmSync(xen.dir, { recursive: true, force: true });
    }
  });
});

describe('platform', () => {
  it('says how it was decided, and warns when the config names ESXi on a host that is not', async () => {
    img.put('/etc/xensource-inventory', '');
    expect(await platformCheck.run(ctxFor())).toEqual({ status: 'ok', detail: `xen: ${join(img.root, '/etc/xensource-inventory')} exists` });
    const esxi = writeConfig((d) => ({ ...rawConfig(d), platform: 'esxi' }));
    try {
      const r = await platformCheck.run(ctxFor({}, esxi.path));
      expect(r).toEqual({
        status: 'warn',
        detail: `esxi (config names it (platform "esxi")), but this host looks like xen (${join(img.root, '/etc/xensource-inventory')} exists)`,
        fix: 'set "platform": "auto" in the config, or the platform this host is',
      });
    } finally {
      rmSync(esxi.dir, { recursive: true, force: true });
    }
  });
});

describe('runtime', () => {
  it('names node, glibc and the kernel', async () => {
    const r = await runtimeCheck.run(ctxFor());
    expect(r.status).toBe('ok');
    expect(r.detail).toMatch(new RegExp(`^node ${process.version.replace(/\./g, '\\.')} \\(.*\\), glibc \\d+\\.\\d+, kernel Linux \\S+ x86_64$`));
  });
});

describe('cron lines and crond (ESXi: the pid file under --root)', () => {
  beforeEach(() => img.put('/etc/vmware/esx.conf', ''));
  const esxi = () => ctxFor(); // detected from esx.conf inside the root
  const tab = '/var/spool/cron/crontabs/root';

  it('no line fails with the install command', async () => {
    img.put(tab, '1 1 * * * /sbin/tmpwatch.py\n', 0o600);
    expect(await cronCheck.run(esxi())).toEqual({
      status: 'fail',
      detail: `no reroute line in ${join(img.root, tab)}`,
      fix: `run reroute --config ${cfg.path} install (docs/install.md)`,
    });
  });

  it('lines and a live crond are ok; a dead crond fails with how to start it; a moved program fails', async () => {
    img.put(tab, lines().join('\n') + '\n', 0o600);
    const pid = livePid();
    img.put('/var/run/crond.pid', `${pid}\n`);
    const ok = await cronCheck.run(esxi());
    expect(ok).toEqual({
      status: 'ok',
      detail: `3 lines in ${join(img.root, tab)} (${PROGRAM}); crond running (pid ${pid} from ${join(img.root, '/var/run/crond.pid')})`,
    });
    img.put('/var/run/crond.pid', '999999999\n');
    expect(await cronCheck.run(esxi())).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/but crond is not running: .*crond\.pid names pid 999999999, which is not running$/),
      fix: 'start it: /usr/lib/vmware/busybox/bin/busybox crond',
    });
    rmSync(join(img.root, PROGRAM));
    expect(await cronCheck.run(esxi())).toMatchObject({ status: 'fail', detail: expect.stringMatching(/run \/opt\/reroute\/bin\/reroute, which is not there$/) });
  });

  it('issue 27: a guard line checking another runner lock than the config\'s (paths.record moved, no install since) fails', async () => {
    img.put(tab, lines(1, cfg.path, undefined, RUNNER_LOCK).join('\n') + '\n', 0o600);
    img.put('/var/run/crond.pid', `${livePid()}\n`);
    expect(await cronCheck.run(esxi())).toEqual({
      status: 'fail',
      detail: `3 lines in ${join(img.root, tab)} (${PROGRAM}): the guard line checks the runner lock ${RUNNER_LOCK}, but the config puts it at ${configsLock()} (paths.record moved)`,
      fix: `run reroute --config ${cfg.path} install again`,
    });
    expect(guardLockOf(lines(1)[2]!)).toBe(configsLock());
    expect(guardLockOf(lines(1)[0]!)).toBeNull();
  });

  it('lines for another config warn', async () => {
    img.put(tab, lines(30, '/etc/other.json').join('\n') + '\n', 0o600);
    img.put('/var/run/crond.pid', `${livePid()}\n`);
    expect(await cronCheck.run(esxi())).toMatchObject({ status: 'warn', detail: expect.stringContaining(`run the agent with another config than ${cfg.path}`) });
  });

  it('the program is read back from every kind of line, quoted or not, with or without a user field', () => {
    for (const l of [...lines(), ...lines(60)]) expect(cronProgram(l)).toBe(PROGRAM);
    for (const l of lines(1, cfg.path, 'root')) expect(cronProgram(l, 'root')).toBe(PROGRAM);
    const quoted = cronLines(10, loopCommand("/opt/re route/it's", '/opt/e', '/c.json', 10), { runnerLock: RUNNER_LOCK });
    for (const l of quoted) expect(cronProgram(l)).toBe("/opt/re route/it's");
    // the guard line of issue 26 (sed and cut), still on hosts not installed again since
    const issue26 =
      `* * * * * (for s in 5 10; do sleep 5; set -- $(readlink /var/run/reroute/runner.lock 2>/dev/null | sed -n 's/^pid=\\([0-9]*\\) start=\\([0-9-]*\\) .*/\\1 \\2/p'); ` +
      `[ -n "$1" ] && kill -0 "$1" 2>/dev/null && { [ ! -r /proc/$1/stat ] || case "$(cut -d' ' -f3,22 /proc/$1/stat)" in [ZX]*) false;; *" $2") true;; *) false;; esac; } || ` +
      `${PROGRAM} loop --every 1 --config ${cfg.path} >/dev/null 2>&1 & done) >/dev/null 2>&1 & # reroute-agent`;
    expect(cronProgram(issue26)).toBe(PROGRAM);
    expect(guardLockOf(issue26)).toBe('/var/run/reroute/runner.lock');
  });

  it('crond is recognised by its argv as /proc shows it', () => {
    expect(crondIn(['/usr/sbin/crond', '-n'])).toBe('crond');
    expect(crondIn(['cron', '-f'])).toBe('cron');
    expect(crondIn(['/usr/lib/vmware/busybox/bin/busybox', 'crond'])).toBe('busybox crond');
    expect(crondIn(['busybox', 'sh'])).toBeNull();
    expect(crondIn(['/usr/bin/cronolog'])).toBeNull();
  });
});

describe('no other agent', () => {
  it('fails naming the old agent\'s lines, with --replace-old-agent as the fix; ok names what it read', async () => {
    expect(await oldAgentCheck.run(ctxFor())).toEqual({
      status: 'ok',
      detail: 'no active line naming reroute.py, check_scvm_reroute_status, change_route_route.sh in the 5 cron and boot files',
    });
    img.put('/etc/cron.d/old', '* * * * * root /usr/bin/python /opt/reroute/reroute.py LOOP\n');
    expect(await oldAgentCheck.run(ctxFor())).toEqual({
      status: 'fail',
      detail: `the old Python agent still manages the route from ${join(img.root, '/etc/cron.d/old')} line 1 (reroute.py): two agents would fight over it`,
      fix: `run reroute --config ${cfg.path} install --replace-old-agent (it comments those lines out)`,
    });
  });
});

describe('boot persistence', () => {
  const localSh = '/etc/rc.local.d/local.sh';
  const block = () => bootBlock({ crontabPath: '/var/spool/cron/crontabs/root', crondPidFile: '/var/run/crond.pid', crondStart: 'busybox crond', lines: lines() });

  it('Linux needs none; ESXi without init script or block fails; either is ok; a damaged block fails', async () => {
    expect(await bootCheck.run(ctxFor())).toEqual({ status: 'ok', detail: 'nothing needed: /etc/cron.d/reroute is on persistent /etc' });
    img.put('/etc/vmware/esx.conf', '');
    img.put(localSh, '#!/bin/sh\nexit 0\n', 0o1755);
    expect(await bootCheck.run(ctxFor())).toEqual({
      status: 'fail',
      detail: `nothing puts the cron lines back at boot (no ${join(img.root, VIB_INIT_SCRIPT)}, no reroute block in ${join(img.root, localSh)})`,
      fix: 'install the VIB (docs/esxi.md), or run reroute install',
    });
    img.put(localSh, withBootBlock('#!/bin/sh\nexit 0\n', block(), 'local.sh'), 0o1755);
    expect(await bootCheck.run(ctxFor())).toEqual({
      status: 'ok',
      detail: `the cron lines come back at boot through the reroute block in ${join(img.root, localSh)} (which ESXi skips under Secure Boot)`,
    });
    img.put(VIB_INIT_SCRIPT, '#!/bin/sh\n', 0o755);
    expect((await bootCheck.run(ctxFor())).detail).toBe(
      `the cron lines come back at boot through the VIB's init script ${join(img.root, VIB_INIT_SCRIPT)} and the reroute block in ${join(img.root, localSh)}`,
    );
    img.put(localSh, '#!/bin/sh\n' + block().slice(0, 3).join('\n') + '\nexit 0\n', 0o1755);
    expect(await bootCheck.run(ctxFor())).toMatchObject({ status: 'fail', detail: expect.stringMatching(/has no matching end marker/) });
  });
});

describe('agent files writable', () => {
  it('ok names the directories tried; a directory that is a file fails naming the path and the fix', async () => {
    const r = await filesCheck.run(ctxFor());
    expect(r).toEqual({
      status: 'ok',
      detail: `paths.state in ${cfg.dir}, paths.record in ${cfg.dir}, paths.lock in ${cfg.dir}, paths.log in ${cfg.dir}`,
    });
    writeFileSync(join(cfg.dir, 'run'), 'not a directory');
    const bad = await filesCheck.run(ctxFor());
    expect(bad).toEqual({
      status: 'fail',
      detail: `paths.record ${join(cfg.dir, 'run', 'record.json')}: ${join(cfg.dir, 'run')} is not a directory; paths.lock ${join(cfg.dir, 'run', 'reroute.lock')}: ${join(cfg.dir, 'run')} is not a directory`,
      fix: 'make those directories writable, or set paths.* in the config to ones that are',
    });
  });

  it('a path on an NFS mount is not tried (the nfs check names it)', async () => {
    const ctx = ctxFor({
      mountTable: async () => ({ ok: true, source: 't', mounts: [{ mountPoint: join(cfg.dir, 'run'), server: '10.0.0.9', viaVip: false, label: 'NFS mount x' }] }),
    });
    expect(await filesCheck.run(ctx)).toEqual({
      status: 'ok',
      detail: `paths.state in ${cfg.dir}, paths.record not tried (on NFS mount x), paths.lock not tried (on NFS mount x), paths.log in ${cfg.dir}`,
    });
  });
});

describe('config, state and log survive a reboot (issue 28: /scratch on the RAM disk)', () => {
  const esxiConfig = (scratch = '/scratch') =>
    writeConfig((d) => ({
      ...rawConfig(d),
      platform: 'esxi',
      paths: { state: `${scratch}/reroute/state.json`, record: '/var/run/reroute/record.json', lock: '/var/run/reroute/reroute.lock', log: `${scratch}/log/scvm_failure.log`, logLink: null },
    }));

  it('fails when /scratch resolves into the RAM disk (/tmp/scratch), naming each file; ok when it is a datastore', async () => {
    const c = esxiConfig();
    try {
      mkdirSync(join(img.root, 'tmp/scratch'), { recursive: true });
      symlinkSync('/tmp/scratch', join(img.root, 'scratch'));
      const ctx = ctxFor({ configPath: '/scratch/reroute/config.json' }, c.path);
      const onRam = await persistentCheck.run(ctx);
      expect(onRam.status).toBe('fail');
      expect(onRam.detail).toBe(
        'on the RAM disk, lost at reboot (and with the config gone the agent does not start again): the config /scratch/reroute/config.json (/tmp/scratch/reroute/config.json); ' +
          'paths.state /scratch/reroute/state.json (/tmp/scratch/reroute/state.json); paths.log /scratch/log/scvm_failure.log (/tmp/scratch/log/scvm_failure.log)',
      );
      expect(onRam.fix).toMatch(/ScratchConfig\.ConfiguredScratchLocation.*KB 1033696/);

      rmSync(join(img.root, 'scratch'));
      mkdirSync(join(img.root, 'vmfs/volumes/5f1e-local/.locker'), { recursive: true });
      symlinkSync('/vmfs/volumes/5f1e-local/.locker', join(img.root, 'scratch'));
      expect(await persistentCheck.run(ctx)).toEqual({
        status: 'ok',
        detail:
          'the config /scratch/reroute/config.json (/vmfs/volumes/5f1e-local/.locker/reroute/config.json); paths.state /scratch/reroute/state.json ' +
          '(/vmfs/volumes/5f1e-local/.locker/reroute/state.json); paths.log /scratch/log/scvm_failure.log (/vmfs/volumes/5f1e-local/.locker/log/scvm_failure.log)',
      });
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  it('a path the config moves off /scratch is judged on its own; dom0 has nothing to check', async () => {
    const c = esxiConfig('/vmfs/volumes/local1');
    try {
      symlinkSync('/tmp/scratch', join(img.root, 'scratch'));
      const r = await persistentCheck.run(ctxFor({ configPath: '/scratch/reroute/config.json' }, c.path));
      expect(r.status).toBe('fail');
      expect(r.detail).toMatch(/: the config \/scratch\/reroute\/config\.json \(\/tmp\/scratch\/reroute\/config\.json\)$/);
      expect(await persistentCheck.run(ctxFor({ platform: 'xen' }))).toEqual({ status: 'ok', detail: "xen: /etc and /var are on dom0's disk" });
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });
});

describe('room in the boot banks for an upgrade', () => {
  it('ok without the VIB; elsewhere than ESXi nothing to check', async () => {
    expect(await bootbankCheck.run(ctxFor({ platform: 'esxi' }))).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^no reroute\.v00 in .*: the agent was not installed from its VIB/) });
    expect(await bootbankCheck.run(ctxFor({ platform: 'linux' }))).toEqual({ status: 'ok', detail: 'linux: no boot banks' });
  });

  describeNetns('on small vfat-like banks (tmpfs mounts, as root)', () => {
    const mounted: string[] = [];
    afterEach(() => {
      for (const m of mounted.splice(0)) spawnSync('umount', ['-l', m]);
    });
    const bank = (name: string, sizeKb: number) => {
      const dir = join(img.root, name);
      mkdirSync(dir, { recursive: true });
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${r.stderr}`);
      mounted.push(dir);
      return dir;
    };

    it('warns when a bank has less room than the installed payload; ok when both have it', async () => {
      const boot = bank('bootbank', 4096);
      const alt = bank('altbootbank', 2048);
      writeFileSync(join(boot, 'reroute.v00'), Buffer.alloc(1536 * 1024));
      writeFileSync(join(alt, 'filler.v00'), Buffer.alloc(1024 * 1024));
      const short = await bootbankCheck.run(ctxFor({ platform: 'esxi' }));
      expect(short.status).toBe('warn');
      expect(short.detail).toMatch(/^the next upgrade needs about 1\.5 MB \(the size of .*\/bootbank\/reroute\.v00\): \/altbootbank 1\.0 MB free, \/bootbank 2\.5 MB free$/);
      expect(short.fix).toMatch(/KB 399221/);
      rmSync(join(alt, 'filler.v00'));
      expect(await bootbankCheck.run(ctxFor({ platform: 'esxi' }))).toEqual({
        status: 'ok',
        detail: '/bootbank 2.5 MB free, /altbootbank 2.0 MB free; an upgrade needs about 1.5 MB',
      });
    });
  });
});

describe('agent files not on the NFS datastore', () => {
  const table = (mountPoint: string) => async () => ({
    ok: true as const,
    source: 'esxcli storage nfs list, esxcli storage filesystem list',
    mounts: [{ mountPoint, server: '192.168.33.2', viaVip: true, label: 'datastore zbs-nfs (192.168.33.2:/zbs/nfs)' }],
  });

  it('fails naming each file on the VIP datastore; ok otherwise; warns when the table cannot be read', async () => {
    const on = await nfsCheck.run(ctxFor({ mountTable: table(join(cfg.dir, 'log')) }));
    expect(on).toEqual({
      status: 'fail',
      detail: `paths.log ${join(cfg.dir, 'log', 'scvm_failure.log')} is on datastore zbs-nfs (192.168.33.2:/zbs/nfs): served through 192.168.33.2, the agent would hang exactly when it is needed`,
      fix: 'move them to local storage (/scratch on a local disk, /var/run) and set --config and paths.* to match (docs/install.md)',
    });
    const off = await nfsCheck.run(ctxFor({ mountTable: table('/vmfs/volumes/zbs-nfs') }));
    expect(off).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^none of the \d+ agent files is on an NFS mount served through 192\.168\.33\.2 \(esxcli/) });
    const unknown = await nfsCheck.run(ctxFor({ mountTable: async () => ({ ok: false as const, reason: 'esxcli not found' }) }));
    expect(unknown).toMatchObject({ status: 'warn', detail: 'could not tell: esxcli not found' });
  });
});

describe('the runner', () => {
  const slow: Check = { id: 'slow', title: 'slow', deadlineMs: () => 100, run: () => new Promise(() => undefined) };
  const broken: Check = { id: 'broken', title: 'broken', deadlineMs: () => 1000, run: async () => { throw new Error('boom'); } };
  const fine: Check = { id: 'fine', title: 'fine', deadlineMs: () => 1000, run: async () => ({ status: 'ok', detail: 'yes' }) };

  it('a check past its deadline or one that throws fails, saying so; the order is the list\'s', async () => {
    const got: Finding[] = [];
    for await (const f of runChecks(ctxFor(), [slow, broken, fine])) got.push(f);
    expect(got).toEqual([
      { id: 'slow', title: 'slow', status: 'fail', detail: 'did not finish within 100 ms', fix: 'run again with --verbose to see which command or request hangs' },
      { id: 'broken', title: 'broken', status: 'fail', detail: 'the check itself failed: boom', fix: 'please report it' },
      { id: 'fine', title: 'fine', status: 'ok', detail: 'yes' },
    ]);
  });

  it('the list covers what issue 16 asks, each id once', () => {
    expect(CHECKS.map((c) => c.id)).toEqual(['config', 'platform', 'runtime', 'icmp', 'route', 'api', 'cron', 'old-agent', 'boot', 'persistent', 'bootbank', 'files', 'nfs', 'clock']);
  });
});
