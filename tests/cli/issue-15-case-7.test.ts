// Issue 15 case 7: the agent's files on the NFS datastore served through the VIP. The agent would hang exactly when
// that datastore's server fails, so `install` refuses (exit 2, nothing written), a pass warns loudly (at most once an
// hour), and `doctor` fails. ESXi: the datastores come from the fake esxcli; Linux: from the image's /proc/mounts.
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run as install } from '../../lib/cli/commands/install';
import { exitCodeFor, OnNfsError } from '../../lib/errors';
import { cliLab, type CliLab } from '../support/cli-lab';
import { rawConfig } from '../support/config';
import { rootImage, type RootImage } from '../support/root-image';

jest.setTimeout(60_000);

const NODE = '/opt/node/bin/node';
const ENTRY = '/opt/reroute/dist/reroute.js';
const CONFIG = '/etc/reroute/config.json';
// platform auto: the image decides (ESXi below), and with it the default paths
const VALID = JSON.stringify({ ...rawConfig('/unused'), platform: 'auto', paths: undefined });

let img: RootImage;
beforeEach(() => {
  img = rootImage();
  img.put(NODE, '#!/bin/sh\n', 0o755);
  img.put(ENTRY, '');
});
afterEach(() => img.cleanup());

describe('install refuses agent files on the VIP datastore', () => {
  it('Linux: a state path on an NFS mount of the VIP (the image\'s /proc/mounts), exit 2, nothing written', async () => {
    img.put(CONFIG, JSON.stringify({ ...rawConfig('/unused'), paths: { state: '/mnt/zbs/reroute/state.json' } }), 0o600);
    img.put('/proc/mounts', '/dev/sda1 / ext4 rw 0 0\n192.168.33.2:/zbs/nfs /mnt/zbs nfs rw,vers=3,addr=192.168.33.2 0 0\n');
    const opts = { every: 10, root: img.root, platform: 'linux', node: NODE, entry: ENTRY };
    const err = await install(opts, img.env({ config: CONFIG })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnNfsError);
    expect(exitCodeFor(err)).toBe(2);
    expect((err as Error).message).toBe(
      'paths.state /mnt/zbs/reroute/state.json is on NFS mount /mnt/zbs (192.168.33.2:/zbs/nfs), served through the NFS VIP 192.168.33.2: ' +
        "the agent would hang exactly when it is needed; move the agent's files to local storage (/scratch on a local disk, /var/run); nothing was changed",
    );
    expect(() => img.read('/etc/cron.d/reroute')).toThrow(/ENOENT/);
    // another server's NFS is not the VIP's
    img.put('/proc/mounts', '10.10.85.200:/zbs/nfs /mnt/zbs nfs rw,vers=3,addr=10.10.85.200 0 0\n');
    expect(await install(opts, img.env({ config: CONFIG }))).toBe(0);
  });

  it('ESXi: /scratch a symlink into the VIP datastore by its uuid (scratch configured there), through the CLI', async () => {
    const lab = await cliLab();
    try {
      img.put('/etc/vmware/esx.conf', '');
      img.put(CONFIG, VALID, 0o600); // default paths: /scratch/reroute/state.json, /scratch/log/scvm_failure.log
      img.put('/etc/rc.local.d/local.sh', '#!/bin/sh\nexit 0\n', 0o1755);
      symlinkSync('/vmfs/volumes/2707af93-17b6f4d4/.locker-esx1', join(img.root, 'scratch')); // the fake's NFS datastore
      // the last --config wins over the lab's own
      const r = await lab.run(['--config', CONFIG, 'install', '--every', '10', '--root', img.root, '--node', NODE, '--entry', ENTRY]);
      expect(r.status).toBe(2);
      const datastore = 'datastore zbs-nfs (192.168.33.2:/zbs/nfs)';
      expect(r.stderr).toBe(
        `reroute: paths.state /scratch/reroute/state.json (/vmfs/volumes/2707af93-17b6f4d4/.locker-esx1/reroute/state.json) is on ${datastore}; ` +
          `paths.log /scratch/log/scvm_failure.log (/vmfs/volumes/2707af93-17b6f4d4/.locker-esx1/log/scvm_failure.log) is on ${datastore}, ` +
          "served through the NFS VIP 192.168.33.2: the agent would hang exactly when it is needed; move the agent's files to local storage (/scratch on a local disk, /var/run); nothing was changed\n",
      );
      expect(() => img.read('/var/spool/cron/crontabs/root')).toThrow(/ENOENT/);
      expect(img.read('/etc/rc.local.d/local.sh')).toBe('#!/bin/sh\nexit 0\n');
    } finally {
      await lab.close();
    }
  });
});

describe('a pass warns loudly, once an hour; doctor fails', () => {
  let lab: CliLab;
  beforeEach(async () => {
    lab = await cliLab();
    // the log's directory is the VIP datastore's mount point, as the fake esxcli lists it
    lab.host.writeState({
      filesystems: [{ mountPoint: join(lab.dir, 'log'), volumeName: 'zbs-nfs', uuid: '2707af93-17b6f4d4', mounted: true, type: 'NFS', size: 1, free: 1 }],
    });
  });
  afterEach(() => lab.close());

  const warning = (log: string) => log.split('\n').filter((l) => l.includes("the agent's files are on the NFS datastore"));

  it('the pass logs one ERROR line naming the file and the datastore, still does its pass, and checks again only after an hour', async () => {
    const first = await lab.run(['loop']);
    expect(first).toMatchObject({ status: 0, stderr: '' });
    expect(warning(lab.log())).toEqual([
      expect.stringMatching(
        new RegExp(
          `ERROR the agent's files are on the NFS datastore served through 192\\.168\\.33\\.2: paths\\.log ${join(lab.dir, 'log', 'scvm_failure.log')} ` +
            `is on datastore zbs-nfs \\(192\\.168\\.33\\.2:/zbs/nfs\\)\\. The agent hangs exactly when that datastore fails: move them to local storage`,
        ),
      ),
    ]);
    expect(lab.vipVia()).toEqual(['127.0.0.15']);
    await lab.run(['loop']);
    expect(warning(lab.log())).toHaveLength(1);
    expect(lab.host.calls().filter((c) => c.tool === 'esxcli' && c.argv[0] === 'storage')).toHaveLength(2); // one check: two listings
  });

  it('doctor fails the nfs check, naming the file, and exits 1', async () => {
    const r = await lab.run(['doctor']);
    expect(r.status).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.includes('agent files not on the NFS datastore'));
    expect(line).toBe(
      `FAIL  agent files not on the NFS datastore: paths.log ${join(lab.dir, 'log', 'scvm_failure.log')} is on datastore zbs-nfs (192.168.33.2:/zbs/nfs): ` +
        'served through 192.168.33.2, the agent would hang exactly when it is needed; ' +
        'fix: move them to local storage (/scratch on a local disk, /var/run) and set --config and paths.* to match (docs/install.md)',
    );
    expect(readFileSync(lab.config, 'utf8')).toContain('scvm_failure.log'); // nothing rewritten
  });
});
