// `reroute doctor` as a field engineer runs it, on the ESXi fakes (esxcfg-route, esxcli), ZBS emulators on loopback
// and a real crond, with the cron and boot files in a --root image that `reroute install` filled. Every address is
// loopback.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cliLab, type CliLab } from '../support/cli-lab';
import { startCrond, type Crond } from '../support/crond';
import { rootImage, type RootImage } from '../support/root-image';

const NODE = '/opt/reroute/bin/reroute';
const ENTRY = '/opt/reroute/dist/reroute.js';
const BIN = join(__dirname, '..', '..', 'bin', 'reroute');
const DATASTORE = '/vmfs/volumes/5ad72ff6-920c8d20-3ee7-848f69e3e398/reroute-lab';
const TITLES = [
  'config',
  'platform',
  'runtime',
  'raw ICMP socket and local SCVM',
  'VIP route',
  'SCVM API and login',
  'cron lines and crond',
  'no other agent',
  'boot persistence',
  'config, state and log survive a reboot',
  'room in the boot banks for an upgrade',
  'agent files writable',
  'agent files not on the NFS datastore',
  'clock',
];

jest.setTimeout(60_000);

let lab: CliLab;
let img: RootImage;
let crond: Crond;

beforeAll(async () => {
  lab = await cliLab();
  img = rootImage();
  img.put(NODE, '#!/bin/sh\n', 0o755);
  img.put(ENTRY, '');
  img.put(lab.config, readFileSync(lab.config, 'utf8'), 0o600);
  img.put('/etc/vmware/esx.conf', '/adv/Misc/HostName = "esx1"\n');
  img.put('/var/spool/cron/crontabs/root', '#min hour day mon dow command\n1    1    *   *   *   /sbin/tmpwatch.py\n', 0o600);
  img.put('/etc/rc.local.d/local.sh', '#!/bin/sh ++group=host/vim/vmvisor/boot\n\nexit 0\n', 0o1755);
  const installed = await lab.run(['install', '--every', '10', '--root', img.root, '--node', NODE, '--entry', ENTRY]);
  expect(installed).toMatchObject({ status: 0, stderr: '' });
  // in the image, the lab's directory is on a local datastore, as /scratch is on a host with a persistent scratch
  mkdirSync(join(img.root, dirname(DATASTORE)), { recursive: true });
  renameSync(join(img.root, lab.dir), join(img.root, DATASTORE));
  symlinkSync(DATASTORE, join(img.root, lab.dir));
  crond = await startCrond();
  img.put('/var/run/crond.pid', `${crond.pid}\n`);
});
afterAll(async () => {
  crond?.stop();
  img?.cleanup();
  await lab?.close();
});

/** The check lines of a report: "<status>  <title>: <detail>". */
function checkLines(stdout: string): { status: string; title: string; line: string }[] {
  return stdout
    .split('\n')
    .filter((l) => /^(ok|warn|FAIL) {2}/.test(l))
    .map((line) => ({ status: line.slice(0, 4).trim(), title: line.slice(6, line.indexOf(': ')), line }));
}

describe('reroute doctor on the ESXi fakes', () => {
  it('every check ok on a host installed as it should be: exit 0, one line per check, a summary', async () => {
    const r = await lab.run(['doctor', '--root', img.root]);
    const checks = checkLines(r.stdout);
    expect(checks.map((c) => c.title)).toEqual(TITLES);
    expect(checks.filter((c) => c.status !== 'ok').map((c) => c.line)).toEqual([]);
    expect(r.stdout.split('\n')[0]).toBe(`reroute ${require('../../package.json').version} doctor: esxi host, config ${lab.config}, cron and boot files under ${img.root}`);
    expect(r.stdout).toMatch(/\ndoctor: 14 ok, 0 warn, 0 FAIL\n$/);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const line = (title: string) => checks.find((c) => c.title === title)!.line;
    expect(line('VIP route')).toBe('ok    VIP route: 192.168.33.2/32 via 127.0.0.15 (the local SCVM)');
    expect(line('SCVM API and login')).toBe(
      "ok    SCVM API and login: session list from 127.0.0.25 (3 sessions, login ok); the local SCVM's session is alive",
    );
    expect(line('cron lines and crond')).toMatch(new RegExp(`^ok {4}cron lines and crond: 3 lines in .*crontabs/root \\(${NODE}\\); crond running \\(pid ${crond.pid} from `));
    expect(line('agent files not on the NFS datastore')).toMatch(/\(esxcli storage nfs list, esxcli storage filesystem list\)$/);
  });

  it('--json: the same checks as objects, no secret anywhere (also with --verbose), nothing changed on the host', async () => {
    const before = lab.host.calls().length;
    const r = await lab.run(['--verbose', 'doctor', '--json', '--root', img.root]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string; fix: string | null }[]; summary: unknown };
    expect(report.checks.map((c) => [c.id, c.status])).toEqual(
      ['config', 'platform', 'runtime', 'icmp', 'route', 'api', 'cron', 'old-agent', 'boot', 'persistent', 'bootbank', 'files', 'nfs', 'clock'].map((id) => [id, 'ok']),
    );
    expect(report.summary).toEqual({ ok: 14, warn: 0, fail: 0 });
    // the address space this process reserved at most, and its largest RSS (issue 28): kB, from /proc/self/status
    const { vmPeakKb, vmHwmKb } = (report as unknown as { process: { vmPeakKb: number; vmHwmKb: number } }).process;
    expect(vmHwmKb).toBeGreaterThan(20_000);
    expect(vmPeakKb).toBeGreaterThan(vmHwmKb);
    expect(lab.emus[0]!.records.logins.length).toBeGreaterThan(0); // the login was really made
    for (const text of [r.stdout, r.stderr]) {
      expect(text).not.toContain('secret'); // the lab's password
      expect(text).not.toMatch(/emu\.\d+\.\d+\./); // the emulators' tokens
    }
    expect(lab.host.changingCalls()).toEqual([]);
    expect(lab.host.calls().slice(before).every((c) => c.argv.join(' ') === '-l' || c.argv[0] === 'storage')).toBe(true);
    expect(existsSync(join(lab.dir, 'state.json'))).toBe(false);
  });

  it('fails (exit 1) naming the old agent and a stopped crond, with the fixes', async () => {
    const tab = readFileSync(join(img.root, '/var/spool/cron/crontabs/root'), 'utf8');
    img.put('/var/spool/cron/crontabs/root', tab + '*/1 * * * * /bin/python /scratch/reroute/reroute.py LOOP\n', 0o600);
    img.put('/var/run/crond.pid', '999999999\n');
    try {
      const r = await lab.run(['doctor', '--root', img.root]);
      expect(r.status).toBe(1);
      const failed = checkLines(r.stdout).filter((c) => c.status === 'FAIL');
      expect(failed.map((c) => c.title)).toEqual(['cron lines and crond', 'no other agent']);
      expect(failed[0]!.line).toMatch(/crond is not running: .* names pid 999999999, which is not running; fix: start it: \/usr\/lib\/vmware\/busybox\/bin\/busybox crond$/);
      expect(failed[1]!.line).toMatch(/crontabs\/root line 6 \(reroute\.py\): two agents would fight over it; fix: run reroute --config .* install --replace-old-agent/);
      expect(r.stdout).toMatch(/\ndoctor: 12 ok, 0 warn, 2 FAIL\n$/);
    } finally {
      img.put('/var/spool/cron/crontabs/root', tab, 0o600);
      img.put('/var/run/crond.pid', `${crond.pid}\n`);
    }
  });

  it('without a config: the config check fails with the fix and the checks that can still run do (exit 1)', async () => {
    const r = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'doctor', '--root', img.root], {
        env: { ...lab.host.env, REROUTE_CONFIG: join(lab.dir, 'missing.json') },
      });
      let stdout = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.on('close', (status) => resolve({ status, stdout }));
    });
    expect(r.status).toBe(1);
    const checks = checkLines(r.stdout);
    expect(checks.map((c) => c.title)).toEqual(TITLES);
    expect(checks[0]!.line).toBe(
      `FAIL  config: cannot read config file ${join(lab.dir, 'missing.json')} (ENOENT): create it (see docs/config.md) or pass --config <file>; fix: every key is described in docs/config.md`,
    );
    const by = (title: string) => checks.find((c) => c.title === title)!;
    expect(by('raw ICMP socket and local SCVM').line).toMatch(/^warn {2}.*: raw ICMP socket open, 127\.0\.0\.1: \d of \d+ echoes answered.*; the local SCVM not probed: no valid config/);
    expect(by('SCVM API and login').line).toMatch(/^warn {2}SCVM API and login: not checked: no valid config/);
    // platform, cron, boot and the rest still ran: ESXi from the image, the default VIP route through the fake
    expect(by('platform').status).toBe('ok');
    expect(by('VIP route').line).toBe('ok    VIP route: 192.168.33.2/32 via 127.0.0.15');
    expect(by('boot persistence').status).toBe('ok');
    // the default paths are on /scratch, which this image does not have on a datastore
    expect(by('config, state and log survive a reboot').line).toMatch(/^FAIL {2}.*: paths\.state \/scratch\/reroute\/state\.json; paths\.log \/scratch\/log\/scvm_failure\.log; fix: /);
  });
});
