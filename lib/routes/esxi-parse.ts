// Pure parsers for the ESXi route and vmknic listings. Columns are padded to their longest value, so rows are
// split on whitespace and the known multi-word values ("Local Subnet", port group names, "STATIC, PREFERRED")
// are recognised by shape, never by fixed character offsets. Bad input is a result naming the command and line.
import { isIPv4, netmaskToPrefix } from '../net/ipv4';

/** A parse outcome: the value, or why the text is not what the command prints. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** One IPv4 route as ESXi lists it. */
export interface EsxiRoute {
  /** network address; "0.0.0.0" for the default route */
  network: string;
  prefix: number;
  /** next hop; null for a connected subnet ("Local Subnet" / 0.0.0.0) */
  gateway: string | null;
  /** vmknic; null on old hosts whose listing has no Interface column */
  iface: string | null;
  /** esxcli "Source" column (MANUAL for static routes); null where the listing has none */
  source: string | null;
}

/** One row of `esxcfg-vmknic -l`. */
export interface Vmknic {
  iface: string;
  portGroup: string;
  family: 'IPv4' | 'IPv6';
  address: string;
  /** dotted mask for IPv4, prefix length for IPv6 */
  netmask: string;
  broadcast: string | null;
  mac: string;
  mtu: number;
  /** absent on hosts older than 6.7 */
  tsoMss: number | null;
  enabled: boolean;
  /** e.g. "STATIC", "DHCP", "STATIC, PREFERRED" */
  type: string;
  /** absent on hosts older than 6.7 */
  netStack: string | null;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const VMK = /^[A-Za-z][\w.-]*$/;
const UINT = /^[0-9]{1,9}$/;

function bad<T>(command: string, why: string, line?: string): ParseResult<T> {
  return { ok: false, reason: line === undefined ? `${command}: ${why}` : `${command}: ${why}: "${line.trim()}"` };
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

function words(line: string): string[] {
  return line.trim().split(/\s+/);
}

function networkAndPrefix(network: string, netmask: string): { network: string; prefix: number } | null {
  const prefix = netmaskToPrefix(netmask);
  if (prefix === null) return null;
  if (network === 'default') return prefix === 0 ? { network: '0.0.0.0', prefix } : null;
  return isIPv4(network) ? { network, prefix } : null;
}

/** Parse `esxcfg-route -l` (modern four-column and old three-column forms). */
export function parseEsxcfgRouteList(text: string): ParseResult<EsxiRoute[]> {
  const cmd = 'esxcfg-route -l';
  const all = lines(text);
  if (all.length === 0) return bad(cmd, 'empty output');
  if (all[0]!.trim() !== 'VMkernel Routes:') return bad(cmd, 'expected "VMkernel Routes:" first', all[0]);
  const header = all[1];
  if (header === undefined) return bad(cmd, 'no table header after "VMkernel Routes:"');
  const cols = words(header);
  const modern = cols.join(' ') === 'Network Netmask Gateway Interface';
  if (!modern && cols.join(' ') !== 'Network Netmask Gateway') return bad(cmd, 'unknown table header', header);
  const routes: EsxiRoute[] = [];
  for (const line of all.slice(2)) {
    const w = words(line);
    const net = w.length >= 3 ? networkAndPrefix(w[0]!, w[1]!) : null;
    if (!net) return bad(cmd, 'bad network or netmask in line', line);
    let rest = w.slice(2);
    let gateway: string | null;
    if (rest[0] === 'Local' && rest[1] === 'Subnet') {
      gateway = null;
      rest = rest.slice(2);
    } else if (isIPv4(rest[0])) {
      gateway = rest[0];
      rest = rest.slice(1);
    } else {
      return bad(cmd, 'bad gateway in line', line);
    }
    const want = modern ? 1 : 0;
    if (rest.length !== want || (modern && !VMK.test(rest[0]!))) return bad(cmd, 'bad interface column in line', line);
    routes.push({ ...net, gateway, iface: modern ? rest[0]! : null, source: null });
  }
  return { ok: true, value: routes };
}

/** Parse `esxcli network ip route ipv4 list` (a header, a dashes line, then rows). */
export function parseEsxcliRouteList(text: string): ParseResult<EsxiRoute[]> {
  const cmd = 'esxcli network ip route ipv4 list';
  const all = lines(text);
  if (all.length === 0) return bad(cmd, 'empty output');
  if (words(all[0]!).join(' ') !== 'Network Netmask Gateway Interface Source') {
    return bad(cmd, 'unknown table header', all[0]);
  }
  const dashes = all[1];
  if (dashes === undefined || !/^-+(\s+-+){4}\s*$/.test(dashes)) return bad(cmd, 'expected the dashes line', dashes ?? '');
  const routes: EsxiRoute[] = [];
  for (const line of all.slice(2)) {
    const w = words(line);
    const net = w.length === 5 ? networkAndPrefix(w[0]!, w[1]!) : null;
    if (!net) return bad(cmd, 'expected network, netmask, gateway, interface, source in line', line);
    if (!isIPv4(w[2]) || !VMK.test(w[3]!) || !/^[A-Z_]+$/.test(w[4]!)) return bad(cmd, 'bad column in line', line);
    routes.push({ ...net, gateway: w[2] === '0.0.0.0' ? null : w[2], iface: w[3]!, source: w[4]! });
  }
  return { ok: true, value: routes };
}

/**
 * Next hops of the static `<vip>/32` routes. Where the listing has a Source column only MANUAL routes count:
 * ICMP-redirect /32 routes are dynamic and not ours. `esxcfg-route -l` cannot tell them apart.
 */
export function esxiVipNextHops(routes: EsxiRoute[], vip: string): string[] {
  const hops = routes
    .filter((r) => r.network === vip && r.prefix === 32 && r.gateway !== null)
    .filter((r) => r.source === null || r.source === 'MANUAL')
    .map((r) => r.gateway as string);
  return [...new Set(hops)];
}

/** Parse `esxcfg-vmknic -l` (6.7+ with TSO MSS and NetStack, or older without them). */
export function parseVmknicList(text: string): ParseResult<Vmknic[]> {
  const cmd = 'esxcfg-vmknic -l';
  const all = lines(text);
  if (all.length === 0) return bad(cmd, 'empty output');
  const header = all[0]!;
  if (!/^Interface\s+Port Group/.test(header) || !/IP Address/.test(header) || !/MAC Address/.test(header)) {
    return bad(cmd, 'unknown table header', header);
  }
  const hasTso = /\bTSO MSS\b/.test(header);
  const hasNetStack = /\bNetStack\s*$/.test(header);
  const nics: Vmknic[] = [];
  for (const line of all.slice(1)) {
    const nic = parseVmknicRow(words(line), hasTso, hasNetStack);
    if (typeof nic === 'string') return bad(cmd, nic, line);
    nics.push(nic);
  }
  return { ok: true, value: nics };
}

function parseVmknicRow(w: string[], hasTso: boolean, hasNetStack: boolean): Vmknic | string {
  const iface = w[0] ?? '';
  if (!VMK.test(iface)) return 'bad interface in line';
  // The port group runs up to the IP family word that is followed by an address of that family.
  let i = 2;
  while (i < w.length && !familyAt(w, i)) i++;
  if (i >= w.length) return 'no "IPv4"/"IPv6" column followed by an address in line';
  const portGroup = w.slice(1, i).join(' ');
  const family = w[i] as 'IPv4' | 'IPv6';
  const address = w[i + 1]!;
  const netmask = w[i + 2];
  if (netmask === undefined || (family === 'IPv4' ? netmaskToPrefix(netmask) === null : !UINT.test(netmask))) {
    return 'bad netmask in line';
  }
  let j = i + 3;
  let broadcast: string | null = null;
  if (w[j] !== undefined && !MAC.test(w[j]!)) {
    broadcast = w[j]!;
    j++;
  }
  if (!MAC.test(w[j] ?? '')) return 'bad MAC address in line';
  const mac = w[j++]!;
  if (!UINT.test(w[j] ?? '')) return 'bad MTU in line';
  const mtu = Number(w[j++]);
  let tsoMss: number | null = null;
  if (hasTso) {
    if (!UINT.test(w[j] ?? '')) return 'bad TSO MSS in line';
    tsoMss = Number(w[j++]);
  }
  if (w[j] !== 'true' && w[j] !== 'false') return 'bad Enabled column in line';
  const enabled = w[j++] === 'true';
  const tail = w.slice(j);
  const netStack = hasNetStack ? (tail.pop() ?? null) : null;
  if (tail.length === 0 || (hasNetStack && netStack === null)) return 'missing Type or NetStack column in line';
  return { iface, portGroup, family, address, netmask, broadcast, mac, mtu, tsoMss, enabled, type: tail.join(' '), netStack };
}

function familyAt(w: string[], i: number): boolean {
  const next = w[i + 1];
  if (w[i] === 'IPv4') return isIPv4(next);
  if (w[i] === 'IPv6') return next !== undefined && /^[0-9a-fA-F:]+(%\S+)?$/.test(next) && next.includes(':');
  return false;
}

/** This host's IPv4 addresses from the vmknics: enabled, not link-local, not loopback, not in `exclude`. */
export function vmknicHostIps(nics: Vmknic[], exclude: string[]): string[] {
  const ips = nics
    .filter((n) => n.family === 'IPv4' && n.enabled && isIPv4(n.address))
    .map((n) => n.address)
    .filter((ip) => !ip.startsWith('127.') && !ip.startsWith('169.254.') && !exclude.includes(ip));
  return [...new Set(ips)];
}
