// Issue 16 item 5, taking over from the Python agent: install refuses while its cron lines or boot hooks are there
// (exit 2, naming them, nothing written), comments them out with --replace-old-agent (saying so), and uninstall leaves
// them so unless --restore-old-agent (issue 31), which puts the host back as install found it. --root images laid out as the old agent left ESXi and XenServer hosts.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { run as install } from '../../lib/cli/commands/install';
import { run as uninstall } from '../../lib/cli/commands/uninstall';
import { LINE_MARKER } from '../../lib/install/crontab';
import { findOldAgent, oldAgentLines, REPLACED_PREFIX, shellSyntaxError, withOldAgentCommented } from '../../lib/install/old-agent';
import { targetsFor } from '../../lib/install/targets';
import { exitCodeFor, OldAgentError, UsageError } from '../../lib/errors';
import { rootImage, type RootImage } from '../support/root-image';

const NODE = '/opt/node/bin/node';
const ENTRY = '/opt/reroute/dist/reroute.js';
const CONFIG = '/scratch/reroute/config.json';
const OLD_CRON = '*/1  *    *   *   *   /bin/python /scratch/reroute/reroute.py LOOP >/dev/null 2>&1';
const ESXI_CRONTAB = `#min hour day mon dow command\n1    1    *   *   *   /sbin/tmpwatch.py\n${OLD_CRON}\n`;
const ESXI_LOCAL_SH = [
  '#!/bin/sh ++group=host/vim/vmvisor/boot',
  '',
  '# local configuration options',
  `/bin/echo '*/1 * * * * /bin/python /scratch/reroute/reroute.py LOOP >/dev/null 2>&1' >> /var/spool/cron/crontabs/root`,
  '/bin/kill $(cat /var/run/crond.pid)',
  '/usr/lib/vmware/busybox/bin/busybox crond',
  '',
  'exit 0',
  '',
].join('\n');

let img: RootImage;
const opts = (extra: Record<string, unknown> = {}) => ({ every: 10, root: img.root, node: NODE, entry: ENTRY, ...extra });
const marked = (text: string) => text.split('\n').filter((l) => l.endsWith(LINE_MARKER));

beforeEach(() => {
  img = rootImage();
  img.put(NODE, '', 0o755);
  img.put(ENTRY, '');
  img.put(CONFIG, '{}', 0o600);
});
afterEach(() => img.cleanup());

describe('ESXi: the old agent in root\'s crontab and local.sh', () => {
  beforeEach(() => {
    img.put('/etc/vmware/esx.conf', '/adv/Misc/HostName = "esx1"\n');
    img.put('/var/spool/cron/crontabs/root', ESXI_CRONTAB, 0o600);
    img.put('/etc/rc.local.d/local.sh', ESXI_LOCAL_SH, 0o1755);
  });

  test('install refuses in one line naming each line of the old agent (exit 2), and writes nothing', async () => {
    const err = await install(opts(), img.env()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OldAgentError);
    expect(exitCodeFor(err)).toBe(2);
    const tab = join(img.root, '/var/spool/cron/crontabs/root');
    const sh = join(img.root, '/etc/rc.local.d/local.sh');
    expect((err as Error).message).toBe(
      `the old Python agent still manages the route from ${tab} line 3 (reroute.py), ${sh} line 4 (reroute.py): two agents would fight over it; nothing was changed: rerun with --replace-old-agent to comment those lines out`,
    );
    expect((err as Error).message).not.toContain('\n');
    expect(img.read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
    expect(img.read('/etc/rc.local.d/local.sh')).toBe(ESXI_LOCAL_SH);
  });

  test('--replace-old-agent comments them out, says so, and installs; uninstall leaves them commented out', async () => {
    expect(await install(opts({ replaceOldAgent: true }), img.env())).toBe(0);
    const tab = img.read('/var/spool/cron/crontabs/root');
    expect(tab.split('\n').slice(0, 3)).toEqual(['#min hour day mon dow command', '1    1    *   *   *   /sbin/tmpwatch.py', REPLACED_PREFIX + OLD_CRON]);
    expect(marked(tab)).toHaveLength(3);
    const sh = img.read('/etc/rc.local.d/local.sh');
    expect(sh.split('\n')[3]).toBe(REPLACED_PREFIX + ESXI_LOCAL_SH.split('\n')[3]);
    expect(sh.endsWith('# <<< reroute-agent\nexit 0\n')).toBe(true);
    expect(await shellSyntaxError(sh)).toBeNull();
    expect(statSync(join(img.root, '/etc/rc.local.d/local.sh')).mode & 0o7777).toBe(0o1755);
    expect(img.out.filter((l) => l.startsWith('commenting out the old agent'))).toEqual([
      `commenting out the old agent in ${join(img.root, '/var/spool/cron/crontabs/root')} line 3: ${OLD_CRON}`,
      `commenting out the old agent in ${join(img.root, '/etc/rc.local.d/local.sh')} line 4: ${ESXI_LOCAL_SH.split('\n')[3]}`,
    ]);
    expect(img.out.some((l) => /wrote .*crontabs\/root: 3 lines .*; the old agent commented out\)$/.test(l))).toBe(true);
    expect(findOldAgent(targetsFor('esxi', img.root))).toEqual([]);

    img.out.length = 0;
    expect(await install(opts(), img.env())).toBe(0); // nothing of the old agent left: no option needed
    expect(img.out.filter((l) => l.startsWith('unchanged:'))).toHaveLength(2);

    await uninstall({ root: img.root }, img.env());
    expect(img.read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB.replace(OLD_CRON, REPLACED_PREFIX + OLD_CRON));
    expect(img.read('/etc/rc.local.d/local.sh')).toBe(ESXI_LOCAL_SH.replace("/bin/echo '*/1", `${REPLACED_PREFIX}/bin/echo '*/1`));
  });

  test('uninstall --restore-old-agent round-trips install --replace-old-agent: both files byte for byte as before', async () => {
    expect(await install(opts({ replaceOldAgent: true }), img.env())).toBe(0);
    img.out.length = 0;
    expect(await uninstall({ root: img.root, restoreOldAgent: true }, img.env({ dryRun: true }))).toBe(0);
    expect(img.out.filter((l) => l.startsWith('would restore the old agent'))).toEqual([
      `would restore the old agent in ${join(img.root, '/var/spool/cron/crontabs/root')} line 3: ${OLD_CRON}`,
      `would restore the old agent in ${join(img.root, '/etc/rc.local.d/local.sh')} line 4: ${ESXI_LOCAL_SH.split('\n')[3]}`,
    ]);
    expect(marked(img.read('/var/spool/cron/crontabs/root'))).toHaveLength(3); // a dry run writes nothing

    img.out.length = 0;
    expect(await uninstall({ root: img.root, restoreOldAgent: true }, img.env())).toBe(0);
    expect(img.read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
    expect(img.read('/etc/rc.local.d/local.sh')).toBe(ESXI_LOCAL_SH);
    expect(statSync(join(img.root, '/etc/rc.local.d/local.sh')).mode & 0o7777).toBe(0o1755);
    expect(img.out).toContain(`restored the old agent in ${join(img.root, '/var/spool/cron/crontabs/root')} line 3: ${OLD_CRON}`);
    expect(findOldAgent(targetsFor('esxi', img.root)).map((h) => h.lines.length)).toEqual([1, 1]);

    // and again: install refuses as at first, and a second restore finds nothing to do
    await expect(install(opts(), img.env())).rejects.toThrow(OldAgentError);
    img.out.length = 0;
    expect(await uninstall({ root: img.root, restoreOldAgent: true }, img.env())).toBe(0);
    expect(img.out).toContain('no line of the old agent to restore (install --replace-old-agent commented none out)');
    expect(img.read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
  });

  test('--dry-run with --replace-old-agent says what it would comment out and writes nothing', async () => {
    expect(await install(opts({ replaceOldAgent: true }), img.env({ dryRun: true }))).toBe(0);
    expect(img.out.filter((l) => l.startsWith('would comment out the old agent'))).toHaveLength(2);
    expect(img.read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
    expect(img.read('/etc/rc.local.d/local.sh')).toBe(ESXI_LOCAL_SH);
  });

  test('a boot hook the edit would leave unparseable (sh -n) is refused, nothing written', async () => {
    const lines = ESXI_LOCAL_SH.split('\n');
    const guarded = [...lines.slice(0, 3), 'if [ -x /bin/python ]; then', `  ${lines[3]}`, 'fi', ...lines.slice(4)].join('\n');
    img.put('/etc/rc.local.d/local.sh', guarded, 0o1755);
    await expect(install(opts({ replaceOldAgent: true }), img.env())).rejects.toThrow(
      /local\.sh line 5: commenting out the old agent would leave the script unparseable \(sh -n: .*\): edit it by hand, then rerun$/,
    );
    expect(img.read('/etc/rc.local.d/local.sh')).toBe(guarded);
    expect(img.read('/var/spool/cron/crontabs/root')).toBe(ESXI_CRONTAB);
  });
});

describe('XenServer dom0: /etc/crontab, /etc/cron.d, root\'s crontab and rc.local', () => {
  const ETC_CRONTAB = 'SHELL=/bin/bash\n* * * * * root /usr/bin/python /opt/reroute/reroute.py LOOP >/dev/null 2>&1\n';
  const CRON_D = '# the old agent\n* * * * * root /opt/reroute/check_scvm_reroute_status\n';
  const RC_LOCAL = '#!/bin/bash\ntouch /var/lock/subsys/local\n/opt/reroute/change_route_route.sh 10.10.85.15\n';

  beforeEach(() => {
    img.put('/etc/xensource-inventory', "PRODUCT_BRAND='XenServer'\n");
    img.put('/etc/crontab', ETC_CRONTAB);
    img.put('/etc/cron.d/scvm-reroute', CRON_D);
    img.put('/var/spool/cron/root', '0 * * * * /usr/bin/python /opt/reroute/reroute.py ROUTE --target 10.10.85.16\n', 0o600);
    img.put('/etc/rc.d/rc.local', RC_LOCAL, 0o755);
  });

  test('install names all four files; --replace-old-agent comments each out in place, modes kept', async () => {
    const err = (await install(opts(), img.env()).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(OldAgentError);
    for (const f of ['/etc/crontab line 2', '/etc/cron.d/scvm-reroute line 2', '/var/spool/cron/root line 1', '/etc/rc.d/rc.local line 3']) {
      expect(err.message).toContain(join(img.root, f));
    }
    expect(await install(opts({ replaceOldAgent: true }), img.env())).toBe(0);
    expect(img.read('/etc/crontab')).toBe(ETC_CRONTAB.replace('* * * * * root /usr', `${REPLACED_PREFIX}* * * * * root /usr`));
    expect(img.read('/etc/cron.d/scvm-reroute')).toBe(CRON_D.replace('* * * * *', `${REPLACED_PREFIX}* * * * *`));
    expect(img.read('/etc/rc.d/rc.local')).toBe(RC_LOCAL.replace('/opt/reroute/change', `${REPLACED_PREFIX}/opt/reroute/change`));
    expect(statSync(join(img.root, '/var/spool/cron/root')).mode & 0o777).toBe(0o600);
    expect(statSync(join(img.root, '/etc/rc.d/rc.local')).mode & 0o777).toBe(0o755);
    expect(marked(img.read('/etc/cron.d/reroute'))).toHaveLength(3);
    expect(findOldAgent(targetsFor('xen', img.root))).toEqual([]);
    await uninstall({ root: img.root }, img.env());
    expect(img.read('/etc/crontab')).toContain(REPLACED_PREFIX);
  });

  test('uninstall --restore-old-agent puts all four back as they were and removes our cron file', async () => {
    const before = ['/etc/crontab', '/etc/cron.d/scvm-reroute', '/var/spool/cron/root', '/etc/rc.d/rc.local'].map((f) => [f, img.read(f)]);
    expect(await install(opts({ replaceOldAgent: true }), img.env())).toBe(0);
    expect(await uninstall({ root: img.root, restoreOldAgent: true }, img.env())).toBe(0);
    for (const [f, text] of before) expect([f, img.read(f!)]).toEqual([f, text]);
    expect(() => img.read('/etc/cron.d/reroute')).toThrow(/ENOENT/);
    expect(statSync(join(img.root, '/var/spool/cron/root')).mode & 0o777).toBe(0o600);
  });

  test('a line continued over several lines of a script is refused, to be edited by hand', async () => {
    img.put('/etc/rc.d/rc.local', '#!/bin/bash\n/usr/bin/python /opt/reroute/reroute.py \\\n  LOOP\n', 0o755);
    await expect(install(opts({ replaceOldAgent: true }), img.env())).rejects.toThrow(UsageError);
    await expect(install(opts({ replaceOldAgent: true }), img.env())).rejects.toThrow(/rc\.local line 2: the old agent's line is continued over several lines/);
    expect(img.read('/etc/crontab')).toBe(ETC_CRONTAB);
  });
});

describe('the line rules', () => {
  test('comments, our own lines and lines that do not name the old agent are not its lines', () => {
    const text = [
      '# * * * * * python reroute.py  (already off)',
      `* * * * * sleep 0; /opt/reroute/bin/reroute loop --config /x/reroute.py.json >/dev/null 2>&1 ${LINE_MARKER}`,
      '0 3 * * * /usr/local/bin/backup',
      '  */2 * * * * /opt/old/check_scvm_reroute_status --loop',
    ].join('\n');
    expect(oldAgentLines(text)).toEqual([{ line: 4, text: '  */2 * * * * /opt/old/check_scvm_reroute_status --loop', marker: 'check_scvm_reroute_status' }]);
  });

  test('commenting out keeps every other byte, also a missing final newline', () => {
    expect(withOldAgentCommented('a\nreroute.py x\nb', [2], false)).toBe(`a\n${REPLACED_PREFIX}reroute.py x\nb`);
    expect(withOldAgentCommented('a \\\nreroute.py x\n', [2], true)).toBeNull();
    expect(withOldAgentCommented('a \\\nreroute.py x\n', [2], false)).toBe(`a \\\n${REPLACED_PREFIX}reroute.py x\n`);
  });
});
