// Issue 15 case 7, the detection: which agent files lie on the VIP's NFS, following symlinks (ESXi's /scratch is one)
// without ever looking at a path on an NFS mount.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnNfs, mountOf, onVipNfs, resolveOffNfs } from '../../lib/doctor/files-on-nfs';
import type { NfsMount } from '../../lib/doctor/nfs-mounts';

const vipDs: NfsMount = { mountPoint: '/vmfs/volumes/zbs-nfs', server: '192.168.33.2', viaVip: true, label: 'datastore zbs-nfs (192.168.33.2:/zbs)' };
const vipUuid: NfsMount = { ...vipDs, mountPoint: '/vmfs/volumes/2707af93-17b6f4d4' };
const isos: NfsMount = { mountPoint: '/vmfs/volumes/isos', server: '10.10.85.200', viaVip: false, label: 'datastore isos (10.10.85.200:/isos)' };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-onnfs-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('mountOf', () => {
  it('a path at or under a mount point, the innermost mount winning; a name that only starts alike is not under it', () => {
    const inner: NfsMount = { ...isos, mountPoint: '/vmfs/volumes/zbs-nfs/inner' };
    expect(mountOf('/vmfs/volumes/zbs-nfs', [vipDs])).toBe(vipDs);
    expect(mountOf('/vmfs/volumes/zbs-nfs/reroute/state.json', [vipDs, inner])).toBe(vipDs);
    expect(mountOf('/vmfs/volumes/zbs-nfs/inner/x', [vipDs, inner])).toBe(inner);
    expect(mountOf('/vmfs/volumes/zbs-nfs2/x', [vipDs])).toBeNull();
    expect(mountOf('/anything', [{ ...vipDs, mountPoint: '/' }])).toEqual({ ...vipDs, mountPoint: '/' });
  });
});

describe('resolveOffNfs', () => {
  it('follows a symlink into the VIP datastore by its uuid (ESXi: /scratch -> /vmfs/volumes/<uuid>/.locker)', () => {
    symlinkSync('/vmfs/volumes/2707af93-17b6f4d4/.locker', join(dir, 'scratch'));
    expect(resolveOffNfs(join(dir, 'scratch/reroute/state.json'), [vipDs, vipUuid])).toEqual({
      resolved: '/vmfs/volumes/2707af93-17b6f4d4/.locker/reroute/state.json',
      mount: vipUuid,
    });
  });

  it('follows relative links and .. as the kernel does, and stops at a loop', () => {
    mkdirSync(join(dir, 'real'));
    symlinkSync('real', join(dir, 'rel'));
    symlinkSync('../real', join(dir, 'real', 'up'));
    expect(resolveOffNfs(join(dir, 'rel/up/f'), [])).toEqual({ resolved: join(dir, 'real', 'f'), mount: null });
    symlinkSync('b', join(dir, 'a'));
    symlinkSync('a', join(dir, 'b'));
    expect(resolveOffNfs(join(dir, 'a/f'), []).mount).toBeNull();
  });

  it('never looks at a path on an NFS mount, of the VIP or of another server', () => {
    // the module's own fs (lib/ imports node:fs by name: each call reads the property, so a spy sees it)
    const fs = require('node:fs') as typeof import('node:fs');  
    const lstat = jest.spyOn(fs, 'lstatSync');
    const readlink = jest.spyOn(fs, 'readlinkSync');
    const mounts = [{ ...vipDs, mountPoint: join(dir, 'ds') }, { ...isos, mountPoint: join(dir, 'isos') }];
    mkdirSync(join(dir, 'ds'));
    symlinkSync(join(dir, 'isos', 'x'), join(dir, 'to-isos'));
    expect(resolveOffNfs(join(dir, 'ds/reroute/state.json'), mounts)).toEqual({ resolved: join(dir, 'ds/reroute/state.json'), mount: mounts[0] });
    expect(resolveOffNfs(join(dir, 'to-isos/y'), mounts)).toEqual({ resolved: join(dir, 'isos/x/y'), mount: mounts[1] });
    const touched = [...lstat.mock.calls, ...readlink.mock.calls].map((c) => String(c[0]));
    expect(touched.filter((p) => p.startsWith(join(dir, 'ds')) || p.startsWith(join(dir, 'isos')))).toEqual([]);
    expect(touched).toContain(join(dir, 'to-isos'));
  });

  it('a path that does not exist yet is taken as written', () => {
    expect(resolveOffNfs('/vmfs/volumes/zbs-nfs/reroute/state.json', [vipDs])).toEqual({ resolved: '/vmfs/volumes/zbs-nfs/reroute/state.json', mount: vipDs });
    expect(resolveOffNfs(join(dir, 'no/such/file'), [vipDs])).toEqual({ resolved: join(dir, 'no/such/file'), mount: null });
  });

  it('under --root, links are read inside the root and taken as the booted host reads them', () => {
    mkdirSync(join(dir, 'etc'));
    symlinkSync('/vmfs/volumes/zbs-nfs/reroute', join(dir, 'etc', 'reroute'));
    expect(resolveOffNfs('/etc/reroute/config.json', [vipDs], dir)).toEqual({ resolved: '/vmfs/volumes/zbs-nfs/reroute/config.json', mount: vipDs });
  });
});

describe('onVipNfs', () => {
  it('names the files on the VIP datastore only, with where their links lead', () => {
    symlinkSync('/vmfs/volumes/2707af93-17b6f4d4/.locker', join(dir, 'scratch'));
    const v = onVipNfs(
      [
        { what: 'paths.state', path: join(dir, 'scratch/reroute/state.json') },
        { what: 'paths.log', path: '/vmfs/volumes/isos/log' },
        { what: 'paths.lock', path: '/var/run/reroute/reroute.lock' },
        { what: 'the config', path: '/vmfs/volumes/zbs-nfs/reroute/config.json' },
      ],
      { ok: true, mounts: [vipDs, vipUuid, isos], source: 'test' },
      null,
    );
    if (!v.ok) throw new Error(v.reason);
    expect(v.onVip.map(describeOnNfs)).toEqual([
      `paths.state ${join(dir, 'scratch/reroute/state.json')} (/vmfs/volumes/2707af93-17b6f4d4/.locker/reroute/state.json) is on datastore zbs-nfs (192.168.33.2:/zbs)`,
      'the config /vmfs/volumes/zbs-nfs/reroute/config.json is on datastore zbs-nfs (192.168.33.2:/zbs)',
    ]);
    expect(v.checked).toBe(4);
  });

  it('a mount table that cannot be read is passed on as the reason', () => {
    expect(onVipNfs([{ what: 'x', path: '/x' }], { ok: false, reason: 'esxcli not found' }, null)).toEqual({ ok: false, reason: 'esxcli not found' });
  });
});
