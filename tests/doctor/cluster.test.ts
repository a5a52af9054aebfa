// Issue 16 "doctor passes on the cluster": `reroute doctor` in the simulated cluster's host namespace, as a field
// engineer runs it after `reroute install`: a real raw socket to the local SCVM, the real route table (Linux: ip;
// ESXi: the fakes mirroring into the kernel), the SCVMs' API over the storage network, a real crond, and the cron and
// boot files in a --root image (this machine's own /etc is never written).
import { readFileSync } from 'node:fs';
import { BUNDLE_LAUNCHER, ensureBundle } from '../support/bundle';
import type { Cluster, Flavour } from '../support/cluster';
import { useClusterHarness } from '../support/cluster-e2e';
import { startCrond, type Crond } from '../support/crond';
import { describeNetns } from '../support/netns';
import { rootImage, type RootImage } from '../support/root-image';

jest.setTimeout(180_000);

const NODE = '/opt/reroute/bin/reroute';
const ENTRY = '/opt/reroute/dist/reroute.js';

describeNetns('doctor on the namespace cluster', () => {
  const e2e = useClusterHarness();
  let img: RootImage;
  let crond: Crond;
  beforeEach(async () => {
    img = rootImage();
    crond = await startCrond();
  });
  afterEach(() => {
    crond.stop();
    img.cleanup();
  });

  /** The image as `reroute install` leaves a host of this flavour; the crond pid where ESXi keeps it. */
  async function installed(cluster: Cluster, flavour: Flavour): Promise<void> {
    img.put(NODE, '#!/bin/sh\n', 0o755);
    img.put(ENTRY, '');
    img.put(cluster.configPath(flavour), readFileSync(cluster.configPath(flavour), 'utf8'), 0o600);
    if (flavour === 'esxi') {
      img.put('/etc/vmware/esx.conf', '');
      img.put('/etc/rc.local.d/local.sh', '#!/bin/sh\nexit 0\n', 0o1755);
      img.put('/var/run/crond.pid', `${crond.pid}\n`);
    }
    const r = await cluster.runPass(flavour, { args: ['install', '--every', '10', '--root', img.root, '--node', NODE, '--entry', ENTRY] });
    expect(r).toMatchObject({ code: 0, stderr: '' });
  }

  async function doctor(cluster: Cluster, flavour: Flavour): Promise<{ code: number | null; lines: string[]; stderr: string }> {
    const r = await cluster.runPass(flavour, { args: ['doctor', '--root', img.root] });
    return { code: r.code, lines: r.stdout.split('\n').filter((l) => /^(ok|warn|FAIL) /.test(l)), stderr: r.stderr };
  }

  /**
   * The simulated ESXi host keeps the agent's files in /tmp, which on ESXi is the RAM disk: the one check that must
   * fail there is the persistence check (issue 28), naming the config, the state and the log.
   */
  const onRamDisk = (cluster: Cluster) =>
    `FAIL  config, state and log survive a reboot: on the RAM disk, lost at reboot (and with the config gone the agent does not start again): the config ${cluster.configPath('esxi')}; ` +
    `paths.state ${cluster.dir}/state.json; paths.log ${cluster.dir}/scvm_failure.log; fix: give the host a persistent scratch location on a local disk ` +
    '(ScratchConfig.ConfiguredScratchLocation, VMware KB 1033696) and reboot, or move --config, paths.state and paths.log under /vmfs/volumes/<local datastore>/';

  it.each(['linux', 'esxi'] as const)('%s flavour: every check ok but, on ESXi, the files kept on the RAM disk', async (flavour) => {
    const cluster = await e2e.up({ flavour });
    await installed(cluster, flavour);
    const r = await doctor(cluster, flavour);
    expect(r.lines.filter((l) => !l.startsWith('ok '))).toEqual(flavour === 'esxi' ? [onRamDisk(cluster)] : []);
    expect(r.lines).toHaveLength(14);
    expect(r).toMatchObject({ code: flavour === 'esxi' ? 1 : 0, stderr: '' });
    expect(r.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ok {4}raw ICMP socket and local SCVM: raw ICMP socket open; local SCVM 10\.10\.85\.15: \d of \d echoes answered/),
        'ok    VIP route: 192.168.33.2/32 via 10.10.85.15 (the local SCVM)',
        "ok    SCVM API and login: session list from 192.168.85.15 (3 sessions, login ok); the local SCVM's session is alive",
        expect.stringMatching(flavour === 'esxi' ? /^ok {4}cron lines and crond: 3 lines .*crond running \(pid \d+ from / : /^ok {4}cron lines and crond: 3 lines .*crond running \(busybox crond pid \d+\)$/),
      ]),
    );
  });

  it('the local SCVM down: doctor fails the ICMP check, naming it, exit 1', async () => {
    const cluster = await e2e.up({ flavour: 'linux' });
    await installed(cluster, 'linux');
    await cluster.fault('scvm-1', 'drop-icmp');
    const r = await doctor(cluster, 'linux');
    expect(r.code).toBe(1);
    expect(r.lines.filter((l) => l.startsWith('FAIL'))).toEqual([
      expect.stringMatching(/^FAIL {2}raw ICMP socket and local SCVM: raw ICMP socket open, but the local SCVM 10\.10\.85\.15: 0 of \d echoes answered; fix: check the local SCVM/),
    ]);
  });

  it('esxi flavour with the bundle as the agent: the runtime is the bundle\'s, the raw socket its raw.node', async () => {
    ensureBundle();
    const cluster = await e2e.up({ flavour: 'esxi', agent: [BUNDLE_LAUNCHER] });
    await installed(cluster, 'esxi');
    const r = await doctor(cluster, 'esxi');
    expect(r.lines.filter((l) => !l.startsWith('ok '))).toEqual([onRamDisk(cluster)]);
    expect(r).toMatchObject({ code: 1, stderr: '' });
    expect(r.lines[2]).toMatch(/^ok {4}runtime: node v24\.\d+\.\d+ from the bundle \S+, glibc \d+\.\d+ \(bundled\), kernel Linux /);
  });
});
