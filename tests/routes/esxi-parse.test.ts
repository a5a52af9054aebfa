import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  esxiVipNextHops,
  parseEsxcfgRouteList,
  parseEsxcliRouteList,
  parseVmknicList,
  vmknicHostIps,
  type ParseResult,
} from '../../lib/routes/esxi-parse';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'esxi', name), 'utf8');

function value<T>(r: ParseResult<T>): T {
  if (!r.ok) throw new Error(`expected a parse, got: ${r.reason}`);
  return r.value;
}

describe('parseEsxcfgRouteList', () => {
  it('reads the modern table, "Local Subnet" gateways and the default route', () => {
    const routes = value(parseEsxcfgRouteList(fixture('esxcfg-route-l.txt')));
    expect(routes).toEqual([
      { network: '192.168.33.2', prefix: 32, gateway: '10.10.85.15', iface: 'vmk1', source: null },
      { network: '10.10.85.0', prefix: 24, gateway: null, iface: 'vmk1', source: null },
      { network: '192.168.33.0', prefix: 24, gateway: null, iface: 'vmk2', source: null },
      { network: '192.168.85.0', prefix: 24, gateway: null, iface: 'vmk0', source: null },
      { network: '0.0.0.0', prefix: 0, gateway: '192.168.85.1', iface: 'vmk0', source: null },
    ]);
    expect(esxiVipNextHops(routes, '192.168.33.2')).toEqual(['10.10.85.15']);
  });

  it('reads the old table without an Interface column', () => {
    const routes = value(parseEsxcfgRouteList(fixture('esxcfg-route-l-old.txt')));
    expect(routes).toEqual([
      { network: '10.10.85.0', prefix: 24, gateway: null, iface: null, source: null },
      { network: '0.0.0.0', prefix: 0, gateway: '192.168.85.1', iface: null, source: null },
    ]);
    const withVip = value(parseEsxcfgRouteList(fixture('variant-esxcfg-route-l-old-with-vip.txt')));
    expect(esxiVipNextHops(withVip, '192.168.33.2')).toEqual(['10.10.85.15']);
  });

  it('finds no VIP next hop when there is no VIP route, and ignores /32 routes to other hosts', () => {
    expect(esxiVipNextHops(value(parseEsxcfgRouteList(fixture('variant-esxcfg-route-l-novip.txt'))), '192.168.33.2')).toEqual([]);
    const other = value(parseEsxcfgRouteList(fixture('variant-esxcfg-route-l-other-host-route.txt')));
    expect(other).toHaveLength(6);
    expect(esxiVipNextHops(other, '192.168.33.2')).toEqual(['10.10.85.15']);
  });

  it('does not depend on column widths', () => {
    const squeezed = 'VMkernel Routes:\nNetwork Netmask Gateway Interface\n192.168.33.2 255.255.255.255 10.10.85.16 vmk12\n';
    expect(esxiVipNextHops(value(parseEsxcfgRouteList(squeezed)), '192.168.33.2')).toEqual(['10.10.85.16']);
  });

  it.each([
    ['', 'empty output'],
    ['VMkernel default gateway is 192.168.85.1\n', 'expected "VMkernel Routes:" first'],
    ['VMkernel Routes:\n', 'no table header'],
    ['VMkernel Routes:\nDestination Mask Via\n', 'unknown table header'],
    ['VMkernel Routes:\nNetwork Netmask Gateway Interface\n192.168.33.2 255.255.0.255 10.10.85.15 vmk1\n', 'bad network or netmask'],
    ['VMkernel Routes:\nNetwork Netmask Gateway Interface\n192.168.33.2 255.255.255.255 None vmk1\n', 'bad gateway'],
    ['VMkernel Routes:\nNetwork Netmask Gateway Interface\n192.168.33.2 255.255.255.255 10.10.85.15\n', 'bad interface'],
    ['VMkernel Routes:\nNetwork Netmask Gateway\n192.168.33.2 255.255.255.255 10.10.85.15 vmk1\n', 'bad interface'],
  ])('garbage %j is an error result naming the command: %s', (text, why) => {
    const r = parseEsxcfgRouteList(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('esxcfg-route -l: ');
      expect(r.reason).toContain(why);
    }
  });

  it('names the bad line', () => {
    const r = parseEsxcfgRouteList(fixture('esxcfg-route-l.txt') + 'garbage here\n');
    expect(r).toEqual({ ok: false, reason: 'esxcfg-route -l: bad network or netmask in line: "garbage here"' });
  });
});

describe('parseEsxcliRouteList', () => {
  it('reads the sample: 0.0.0.0 gateways are connected subnets, Source is kept', () => {
    const routes = value(parseEsxcliRouteList(fixture('esxcli-route-ipv4-list.txt')));
    expect(routes).toEqual([
      { network: '0.0.0.0', prefix: 0, gateway: '192.168.85.1', iface: 'vmk0', source: 'MANUAL' },
      { network: '192.168.33.2', prefix: 32, gateway: '10.10.85.15', iface: 'vmk1', source: 'MANUAL' },
      { network: '10.10.85.0', prefix: 24, gateway: null, iface: 'vmk1', source: 'MANUAL' },
    ]);
    expect(esxiVipNextHops(routes, '192.168.33.2')).toEqual(['10.10.85.15']);
  });

  it('counts only MANUAL VIP routes: dynamic ones are not ours', () => {
    const text =
      fixture('esxcli-route-ipv4-list.txt') + '192.168.33.2  255.255.255.255  10.10.85.20   vmk1       REDIRECT\n';
    const routes = value(parseEsxcliRouteList(text));
    expect(routes).toHaveLength(4);
    expect(esxiVipNextHops(routes, '192.168.33.2')).toEqual(['10.10.85.15']);
  });

  it.each([
    ['Network Netmask Gateway Interface\n', 'unknown table header'],
    ['Network Netmask Gateway Interface Source\ndefault 0.0.0.0 192.168.85.1 vmk0 MANUAL\n', 'expected the dashes line'],
    [
      'Network Netmask Gateway Interface Source\n--- --- --- --- ---\ndefault 0.0.0.0 192.168.85.1 vmk0\n',
      'expected network, netmask, gateway, interface, source in line: "default 0.0.0.0 192.168.85.1 vmk0"',
    ],
    ['Network Netmask Gateway Interface Source\n--- --- --- --- ---\ndefault 0.0.0.0 gw vmk0 MANUAL\n', 'bad column'],
  ])('garbage %j is an error result: %s', (text, why) => {
    const r = parseEsxcliRouteList(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(`esxcli network ip route ipv4 list: ${why}`);
  });
});

describe('parseVmknicList', () => {
  it('reads the 6.7+ sample: spaces in port groups, "STATIC, PREFERRED", IPv6 without broadcast', () => {
    const nics = value(parseVmknicList(fixture('esxcfg-vmknic-l.txt')));
    expect(nics).toHaveLength(4);
    expect(nics[0]).toEqual({
      iface: 'vmk0',
      portGroup: 'Management Network',
      family: 'IPv4',
      address: '192.168.85.11',
      netmask: '255.255.255.0',
      broadcast: '192.168.85.255',
      mac: '00:50:56:6b:b8:54',
      mtu: 1500,
      tsoMss: 65535,
      enabled: true,
      type: 'STATIC',
      netStack: 'defaultTcpipStack',
    });
    expect(nics[1]).toMatchObject({ family: 'IPv6', address: 'fe80::250:56ff:fe6b:b854', netmask: '64', broadcast: null, type: 'STATIC, PREFERRED' });
    expect(nics.map((n) => [n.iface, n.portGroup, n.mtu])).toEqual([
      ['vmk0', 'Management Network', 1500],
      ['vmk0', 'Management Network', 1500],
      ['vmk1', 'storage', 9000],
      ['vmk2', 'nfs', 1500],
    ]);
    expect(vmknicHostIps(nics, ['192.168.33.1'])).toEqual(['192.168.85.11', '10.10.85.11']);
  });

  it('reads older hosts without TSO MSS and NetStack', () => {
    const nics = value(parseVmknicList(fixture('variant-esxcfg-vmknic-l-old.txt')));
    expect(nics[2]).toMatchObject({ portGroup: 'VM Network 2 storage', type: 'DHCP', tsoMss: null, netStack: null, mtu: 9000 });
    expect(nics[1]).toMatchObject({ type: 'STATIC, PREFERRED', netStack: null });
    expect(vmknicHostIps(nics, ['192.168.33.1'])).toEqual(['192.168.85.11', '10.10.85.11']);
  });

  it('follows widened columns; leaves out link-local, disabled and excluded vmknics', () => {
    const nics = value(parseVmknicList(fixture('variant-esxcfg-vmknic-l-wide.txt')));
    expect(nics[2]!.portGroup).toBe('dvportgroup-storage network for the cluster zone A (uplink 2)');
    expect(nics[4]).toMatchObject({ iface: 'vmk3', netStack: 'vmotion', address: '169.254.10.3' });
    expect(nics[5]).toMatchObject({ iface: 'vmk4', enabled: false });
    expect(vmknicHostIps(nics, ['192.168.33.1'])).toEqual(['192.168.85.11', '10.10.85.11']);
  });

  it.each([
    ['', 'empty output'],
    ['vmk0 Management Network IPv4 192.168.85.11\n', 'unknown table header'],
    ['HEADER\n', 'unknown table header'],
  ])('garbage %j is an error result: %s', (text, why) => {
    const r = parseVmknicList(text);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining(`esxcfg-vmknic -l: ${why}`) });
  });

  it('names a bad row', () => {
    const header = fixture('esxcfg-vmknic-l.txt').split('\n')[0]!;
    const cases: [string, string][] = [
      ['vmk9 lost IPv4 10.1.1.1 255.255.255.0 10.1.1.255 00:50:56:00:00:01 1500 65535 maybe STATIC defaultTcpipStack', 'bad Enabled'],
      ['vmk9 lost IPv4 10.1.1.1 255.0.255.0 10.1.1.255 00:50:56:00:00:01 1500 65535 true STATIC defaultTcpipStack', 'bad netmask'],
      ['vmk9 lost 10.1.1.1 255.255.255.0', 'no "IPv4"/"IPv6" column'],
      ['vmk9 lost IPv4 10.1.1.1 255.255.255.0 10.1.1.255 00:50:56:00:00:01 big 65535 true STATIC x', 'bad MTU'],
      ['vmk9 lost IPv4 10.1.1.1 255.255.255.0 10.1.1.255 00:50:56:00:00:01 1500 65535 true', 'missing Type'],
    ];
    for (const [row, why] of cases) {
      const r = parseVmknicList(`${header}\n${row}\n`);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.reason.startsWith(`esxcfg-vmknic -l: ${why}`)).toBe(true);
        expect(r.reason.endsWith(`in line: "${row}"`)).toBe(true);
      }
    }
  });
});
