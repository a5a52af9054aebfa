// The mount table behind issue 15 case 7: /proc/mounts on Linux, the two esxcli storage listings on ESXi (as ESXi
// prints them, and as the fake ESXi host prints them), and reading them through the fake commands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { esxiNfsMounts, parseEsxcliTable, parseProcMounts, readMountTable } from '../../lib/doctor/nfs-mounts';
import { fakeEsxiHost } from '../support/esxi';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'esxi', name), 'utf8');
 
const fake = require('../support/esxi/fake-esxi.js') as {
  defaultState(): Record<string, unknown>;
  nfsList(s: unknown): string;
  filesystemList(s: unknown): string;
};
const VIP = '192.168.33.2';

describe('/proc/mounts', () => {
  const text = [
    'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
    '/dev/sda1 / ext4 rw,relatime 0 0',
    '192.168.33.2:/zbs/nfs /mnt/zbs\\040datastore nfs rw,relatime,vers=3,proto=tcp,addr=192.168.33.2 0 0',
    'zbs-vip:/other /mnt/by-name nfs4 rw,relatime,vers=4.1,clientaddr=10.10.85.11,addr=192.168.33.2 0 0',
    '10.10.85.200:/isos /mnt/isos nfs ro,relatime,vers=3,addr=10.10.85.200 0 0',
    'rpc_pipefs /run/rpc_pipefs rpc_pipefs rw,relatime 0 0',
    'tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0',
  ].join('\n');

  it('keeps NFS mounts only, unescapes mount points, and takes the VIP from the source or the addr= option', () => {
    expect(parseProcMounts(text, VIP)).toEqual([
      { mountPoint: '/mnt/zbs datastore', server: VIP, viaVip: true, label: 'NFS mount /mnt/zbs datastore (192.168.33.2:/zbs/nfs)' },
      { mountPoint: '/mnt/by-name', server: 'zbs-vip', viaVip: true, label: 'NFS mount /mnt/by-name (zbs-vip:/other)' },
      { mountPoint: '/mnt/isos', server: '10.10.85.200', viaVip: false, label: 'NFS mount /mnt/isos (10.10.85.200:/isos)' },
    ]);
  });

  it('an empty or odd table has no NFS mount', () => {
    expect(parseProcMounts('', VIP)).toEqual([]);
    expect(parseProcMounts('garbage\n\n nfs\n', VIP)).toEqual([]);
  });
});

describe('esxcli tables', () => {
  it('cuts cells at the dashes: names and shares with spaces, right-aligned booleans', () => {
    const r = parseEsxcliTable(fixture('esxcli-storage-nfs-list.txt'), 'esxcli storage nfs list', ['Volume Name', 'Host']);
    expect(r).toEqual({
      ok: true,
      value: [
        {
          'Volume Name': 'zbs nfs store', Host: VIP, Share: '/zbs/nfs/datastore', Accessible: 'true', Mounted: 'true',
          'Read-Only': 'false', isPE: 'false', 'Hardware Acceleration': 'Not Supported',
        },
        {
          'Volume Name': 'isos', Host: '10.10.85.200', Share: '/exports/isos', Accessible: 'false', Mounted: 'true',
          'Read-Only': 'true', isPE: 'false', 'Hardware Acceleration': 'Unknown',
        },
      ],
    });
  });

  it('reads the ESXi 5.x listing (no Read-Only, no isPE) by its headers', () => {
    const r = parseEsxcliTable(fixture('esxcli-storage-nfs-list-5x.txt'), 'x', ['Volume Name', 'Host']);
    expect(r.ok && r.value.map((v) => [v['Volume Name'], v.Host])).toEqual([['zbs-nfs', VIP]]);
  });

  it('no output is no rows; a missing column or dashes line is an error naming the command', () => {
    expect(parseEsxcliTable('', 'esxcli storage nfs list', ['Host'])).toEqual({ ok: true, value: [] });
    expect(parseEsxcliTable('Volume Name  Share\n-----------  -----\n', 'esxcli storage nfs list', ['Volume Name', 'Host'])).toEqual({
      ok: false,
      reason: 'esxcli storage nfs list: no Host column in "Volume Name  Share"',
    });
    expect(parseEsxcliTable('Error: Unknown command or namespace storage nfs list\n', 'esxcli storage nfs list', ['Host'])).toEqual({
      ok: false,
      reason: 'esxcli storage nfs list: expected a header and a line of dashes: "Error: Unknown command or namespace storage nfs list"',
    });
  });

  it('the NFS datastores under their names and their uuid mount points; only the VIP server counts', () => {
    const nfs = parseEsxcliTable(fixture('esxcli-storage-nfs-list.txt'), 'n', ['Volume Name', 'Host']);
    const fs = parseEsxcliTable(fixture('esxcli-storage-filesystem-list.txt'), 'f', ['Mount Point', 'Volume Name', 'Type']);
    if (!nfs.ok || !fs.ok) throw new Error('fixtures do not parse');
    const zbs = 'datastore zbs nfs store (192.168.33.2:/zbs/nfs/datastore)';
    const isos = 'datastore isos (10.10.85.200:/exports/isos)';
    expect(esxiNfsMounts(nfs.value, fs.value, VIP)).toEqual([
      { mountPoint: '/vmfs/volumes/zbs nfs store', server: VIP, viaVip: true, label: zbs },
      { mountPoint: '/vmfs/volumes/isos', server: '10.10.85.200', viaVip: false, label: isos },
      { mountPoint: '/vmfs/volumes/2707af93-17b6f4d4', server: VIP, viaVip: true, label: zbs },
      { mountPoint: '/vmfs/volumes/8c2f7e0d-1c3b9a4f', server: '10.10.85.200', viaVip: false, label: isos },
    ]);
  });

  it("the fake ESXi host prints what the parser reads (the fixtures' shape)", () => {
    const s = fake.defaultState();
    const nfs = parseEsxcliTable(fake.nfsList(s), 'n', ['Volume Name', 'Host']);
    const fs = parseEsxcliTable(fake.filesystemList(s), 'f', ['Mount Point', 'Volume Name', 'Type']);
    expect(nfs.ok && nfs.value).toEqual([
      expect.objectContaining({ 'Volume Name': 'zbs-nfs', Host: VIP, Accessible: 'true', 'Hardware Acceleration': 'Not Supported' }),
    ]);
    expect(fs.ok && fs.value.map((f) => [f['Volume Name'], f.Type])).toEqual([['zbs-nfs', 'NFS'], ['datastore1', 'VMFS-6'], ['', 'vfat']]);
  });
});

describe('readMountTable', () => {
  it('ESXi: runs both listings through esxcli (the fake host) and joins them', async () => {
    const host = fakeEsxiHost();
    try {
      const t = await readMountTable({ platform: 'esxi', vip: VIP, root: null, timeoutMs: 5000, env: host.env });
      expect(t).toEqual({
        ok: true,
        source: 'esxcli storage nfs list, esxcli storage filesystem list',
        mounts: [
          expect.objectContaining({ mountPoint: '/vmfs/volumes/zbs-nfs', viaVip: true }),
          expect.objectContaining({ mountPoint: '/vmfs/volumes/2707af93-17b6f4d4', viaVip: true }),
        ],
      });
      expect(host.calls().map((c) => c.argv.join(' ')).sort()).toEqual(['storage filesystem list', 'storage nfs list']);
    } finally {
      host.cleanup();
    }
  });

  it('ESXi: a listing that fails or hangs is a reason, within the timeout', async () => {
    const host = fakeEsxiHost({ state: { fail: { nfs: true } } });
    try {
      const failed = await readMountTable({ platform: 'esxi', vip: VIP, root: null, timeoutMs: 5000, env: host.env });
      expect(failed).toEqual({ ok: false, reason: expect.stringMatching(/^command ".*\/esxcli storage nfs list" failed with exit 1: Error: simulated failure of nfs/) });
      host.writeState({ fail: {}, hang: ['filesystem'] });
      const hung = await readMountTable({ platform: 'esxi', vip: VIP, root: null, timeoutMs: 300, env: host.env });
      expect(hung).toEqual({ ok: false, reason: expect.stringMatching(/storage filesystem list" ran past its 300 ms timeout and was killed$/) });
    } finally {
      host.cleanup();
    }
  });

  it('ESXi without esxcli, and an image without a mount table, cannot tell', async () => {
    const none = await readMountTable({ platform: 'esxi', vip: VIP, root: null, timeoutMs: 1000, env: { PATH: '/nonexistent' } });
    // ESXi keeps esxcli in /bin and /sbin; this machine has none there
    expect(none).toEqual({ ok: false, reason: expect.stringMatching(/^esxcli not found/) });
    const image = await readMountTable({ platform: 'linux', vip: VIP, root: '/nonexistent-root', timeoutMs: 1000 });
    expect(image).toEqual({ ok: false, reason: 'cannot read the mount table /nonexistent-root/proc/mounts (ENOENT)' });
  });
});
