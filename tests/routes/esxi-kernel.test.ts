import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseVmknicList } from '../../lib/routes/esxi-parse';
import { FAKE_ESXI_DIR, fakeEsxiHost, type FakeEsxiHost } from '../support/esxi';
import { describeNetns, NetnsLab } from '../support/netns';

const VIP = '192.168.33.2';

describeNetns('fake ESXi commands in kernel mode (FAKE_ESXI_KERNEL=1)', () => {
  let lab: NetnsLab;
  let ns: string;
  let host: FakeEsxiHost;

  beforeAll(() => {
    lab = new NetnsLab('fek');
    ns = lab.addNamespace('esx');
    const peer = lab.addNamespace('peer');
    lab.link(ns, '10.10.85.11/24', peer, '10.10.85.15/24');
  });
  afterAll(() => lab.teardown());
  beforeEach(() => {
    host = fakeEsxiHost();
    host.writeState({ routes: host.readState().routes.filter((r) => r.network !== VIP) });
  });
  afterEach(() => host.cleanup());

  const inNs = (tool: string, ...args: string[]) =>
    lab.execRaw(ns, [join(FAKE_ESXI_DIR, tool), ...args], { env: { ...host.env, FAKE_ESXI_KERNEL: '1' } });
  const kernelVip = () => JSON.parse(lab.exec(ns, ['ip', '-j', 'route', 'show', `${VIP}/32`]) || '[]') as { gateway?: string }[];

  it('mirrors adds and deletes into the namespace routing table', () => {
    expect(inNs('esxcfg-route', '-a', `${VIP}/32`, '10.10.85.15').status).toBe(0);
    expect(kernelVip().map((r) => r.gateway)).toEqual(['10.10.85.15']);
    expect(inNs('esxcfg-route', '-d', `${VIP}/32`, '10.10.85.15').status).toBe(0);
    expect(kernelVip()).toEqual([]);
    expect(inNs('esxcli', 'network', 'ip', 'route', 'ipv4', 'add', '-g', '10.10.85.16', '-n', `${VIP}/32`).status).toBe(0);
    expect(kernelVip().map((r) => r.gateway)).toEqual(['10.10.85.16']);
    expect(host.readState().routes.filter((r) => r.network === VIP).map((r) => r.gateway)).toEqual(['10.10.85.16']);
  });

  it('lists the namespace addresses as vmknics', () => {
    const r = inNs('esxcfg-vmknic', '-l');
    expect(r.status).toBe(0);
    const parsed = parseVmknicList(r.stdout);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.map((n) => [n.iface, n.address, n.netmask, n.broadcast, n.enabled])).toEqual([
      ['vmk0', '10.10.85.11', '255.255.255.0', '10.10.85.255', true],
    ]);
  });

  it('refuses kernel mode in the root namespace', () => {
    const r = spawnSync(join(FAKE_ESXI_DIR, 'esxcfg-vmknic'), ['-l'], {
      env: { ...host.env, FAKE_ESXI_KERNEL: '1' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refused in the root network namespace');
  });
});
