import {
  linuxHostIps,
  linuxVipNextHops,
  parseIpAddrJson,
  parseIpRouteJson,
} from '../../lib/routes/linux-parse';

// Outputs as iproute2 6.1 prints them (captured in a scratch namespace).
const ONE = '[{"dst":"192.168.33.2","gateway":"10.10.85.15","dev":"d0","flags":[]}]';
const SEVERAL =
  '[{"dst":"192.168.33.2","gateway":"10.10.85.15","dev":"d0","flags":[]},' +
  '{"dst":"192.168.33.2","gateway":"10.10.85.16","dev":"d0","metric":20,"flags":[]}]';
const MULTIPATH =
  '[{"dst":"192.168.33.2","flags":[],"nexthops":[{"gateway":"10.10.85.15","dev":"d0","weight":1,"flags":[]},' +
  '{"gateway":"10.10.85.16","dev":"d0","weight":1,"flags":[]}]}]';
const DEVICE_ONLY =
  '[{"dst":"192.168.33.2","dev":"d0","scope":"link","flags":[]},' +
  '{"type":"blackhole","dst":"192.168.33.2","metric":5,"flags":[]}]';

describe('parseIpRouteJson', () => {
  it('no route: "[]" and empty output both mean none', () => {
    expect(parseIpRouteJson('[]')).toEqual({ ok: true, value: [] });
    expect(parseIpRouteJson('')).toEqual({ ok: true, value: [] });
  });

  it('one route', () => {
    const r = parseIpRouteJson(ONE);
    expect(r).toEqual({
      ok: true,
      value: [{ dst: '192.168.33.2', type: 'unicast', gateways: ['10.10.85.15'], dev: 'd0', metric: 0, protocol: 'boot' }],
    });
    if (r.ok) expect(linuxVipNextHops(r.value, '192.168.33.2')).toEqual(['10.10.85.15']);
  });

  it('several routes at different metrics, and a multipath route', () => {
    const several = parseIpRouteJson(SEVERAL);
    const multi = parseIpRouteJson(MULTIPATH);
    if (!several.ok || !multi.ok) throw new Error('parse failed');
    expect(several.value.map((r) => r.metric)).toEqual([0, 20]);
    expect(linuxVipNextHops(several.value, '192.168.33.2')).toEqual(['10.10.85.15', '10.10.85.16']);
    expect(linuxVipNextHops(multi.value, '192.168.33.2')).toEqual(['10.10.85.15', '10.10.85.16']);
  });

  it('a device-only route and a blackhole give no next hop', () => {
    const r = parseIpRouteJson(DEVICE_ONLY);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.map((x) => [x.type, x.gateways, x.dev])).toEqual([
      ['unicast', [], 'd0'],
      ['blackhole', [], null],
    ]);
    expect(linuxVipNextHops(r.value, '192.168.33.2')).toEqual([]);
  });

  it('leaves out ICMP-redirect routes and other destinations', () => {
    const text =
      '[{"dst":"192.168.33.2","gateway":"10.10.85.17","dev":"d0","protocol":"redirect","flags":[]},' +
      '{"dst":"192.168.33.3","gateway":"10.10.85.15","dev":"d0","flags":[]}]';
    const r = parseIpRouteJson(text);
    if (!r.ok) throw new Error(r.reason);
    expect(linuxVipNextHops(r.value, '192.168.33.2')).toEqual([]);
  });

  it.each([
    ['Error: any valid prefix is expected', 'not JSON'],
    ['{"dst":"x"}', 'expected a JSON array'],
    ['[{"gateway":"10.10.85.15"}]', 'without "dst"'],
    ['[{"dst":"192.168.33.2","gateway":"fe80::1"}]', 'gateway "fe80::1" is not IPv4'],
    ['[{"dst":"192.168.33.2","metric":"high"}]', '"metric" is not a number'],
    ['[{"dst":"192.168.33.2","nexthops":{}}]', '"nexthops" is not a list'],
  ])('garbage %j is an error result naming the command: %s', (text, why) => {
    const r = parseIpRouteJson(text, 'ip -j route show 192.168.33.2/32');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason.startsWith('ip -j route show 192.168.33.2/32: ')).toBe(true);
      expect(r.reason).toContain(why);
    }
  });
});

describe('parseIpAddrJson / linuxHostIps', () => {
  const ADDR = JSON.stringify([
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
    {
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '10.10.85.11', prefixlen: 24, scope: 'global' },
        { family: 'inet', local: '192.168.85.11', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
    { ifname: 'nfs0', addr_info: [{ family: 'inet', local: '192.168.33.1', prefixlen: 24, scope: 'global' }] },
    { ifname: 'll0', addr_info: [{ family: 'inet', local: '169.254.3.3', prefixlen: 16, scope: 'global' }] },
    { ifname: 'down0', addr_info: [] },
  ]);

  it('keeps IPv4s of real interfaces, minus loopback, link-local and the excluded NFS address', () => {
    const r = parseIpAddrJson(ADDR);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).toHaveLength(5);
    expect(linuxHostIps(r.value, ['192.168.33.1'])).toEqual(['10.10.85.11', '192.168.85.11']);
  });

  it.each([
    ['nonsense', 'output is not JSON'],
    ['[{"ifname":"eth0"}]', 'link entry without "ifname"/"addr_info"'],
    ['[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.1.1"}]}]', 'bad inet address on eth0'],
  ])('garbage %j is an error result: %s', (text, why) => {
    const r = parseIpAddrJson(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(`ip -j addr: ${why}`);
  });
});
