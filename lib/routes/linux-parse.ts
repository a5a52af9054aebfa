// Pure parsers for iproute2's JSON output (`ip -j route show <vip>/32`, `ip -j addr`).
import { isIPv4 } from '../net/ipv4';
import type { ParseResult } from './esxi-parse';

/** One route of `ip -j route show`. */
export interface LinuxRoute {
  /** as printed: "192.168.33.2" for a /32, "10.10.85.0/24", "default" */
  dst: string;
  /** "unicast" unless iproute2 names another type (blackhole, unreachable, ...) */
  type: string;
  /** gateways: one for a plain route, several for a multipath route, none for a device-only route */
  gateways: string[];
  dev: string | null;
  metric: number;
  /** "boot" when iproute2 omits it */
  protocol: string;
}

/** One IPv4 address of `ip -j addr`. */
export interface LinuxAddress {
  ifname: string;
  address: string;
  prefixlen: number;
  scope: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonArray(command: string, text: string): ParseResult<unknown[]> {
  // iproute2 prints nothing at all (not "[]") on some versions when nothing matches.
  if (text.trim() === '') return { ok: true, value: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `${command}: output is not JSON (${(e as Error).message}): "${text.slice(0, 80)}"` };
  }
  if (!Array.isArray(parsed)) return { ok: false, reason: `${command}: expected a JSON array, got ${typeof parsed}` };
  return { ok: true, value: parsed };
}

/** Parse `ip -j route show ...`; `command` names the command in error reasons. */
export function parseIpRouteJson(text: string, command = 'ip -j route show'): ParseResult<LinuxRoute[]> {
  const arr = jsonArray(command, text);
  if (!arr.ok) return arr;
  const routes: LinuxRoute[] = [];
  for (const item of arr.value) {
    const entry = JSON.stringify(item);
    if (!isObject(item) || typeof item.dst !== 'string') {
      return { ok: false, reason: `${command}: route entry without "dst": ${entry}` };
    }
    const gateways: string[] = [];
    if (item.gateway !== undefined) gateways.push(String(item.gateway));
    if (item.nexthops !== undefined) {
      if (!Array.isArray(item.nexthops)) return { ok: false, reason: `${command}: "nexthops" is not a list: ${entry}` };
      for (const hop of item.nexthops) {
        if (isObject(hop) && hop.gateway !== undefined) gateways.push(String(hop.gateway));
      }
    }
    const badGateway = gateways.find((g) => !isIPv4(g));
    if (badGateway !== undefined) return { ok: false, reason: `${command}: gateway "${badGateway}" is not IPv4: ${entry}` };
    const metric = item.metric === undefined ? 0 : item.metric;
    if (typeof metric !== 'number') return { ok: false, reason: `${command}: "metric" is not a number: ${entry}` };
    routes.push({
      dst: item.dst,
      type: typeof item.type === 'string' ? item.type : 'unicast',
      gateways,
      dev: typeof item.dev === 'string' ? item.dev : null,
      metric,
      protocol: typeof item.protocol === 'string' ? item.protocol : 'boot',
    });
  }
  return { ok: true, value: routes };
}

/** The routes of `routes` whose destination is exactly `vip`/32. */
export function linuxVipRoutes(routes: LinuxRoute[], vip: string): LinuxRoute[] {
  return routes.filter((r) => r.dst === vip || r.dst === `${vip}/32`);
}

/** Next hops of the static VIP routes; ICMP-redirect routes (protocol "redirect") are dynamic and not ours. */
export function linuxVipNextHops(routes: LinuxRoute[], vip: string): string[] {
  const hops = linuxVipRoutes(routes, vip)
    .filter((r) => r.type === 'unicast' && r.protocol !== 'redirect')
    .flatMap((r) => r.gateways);
  return [...new Set(hops)];
}

/** Parse `ip -j addr` into its IPv4 addresses. */
export function parseIpAddrJson(text: string, command = 'ip -j addr'): ParseResult<LinuxAddress[]> {
  const arr = jsonArray(command, text);
  if (!arr.ok) return arr;
  const out: LinuxAddress[] = [];
  for (const link of arr.value) {
    if (!isObject(link) || typeof link.ifname !== 'string' || !Array.isArray(link.addr_info)) {
      return { ok: false, reason: `${command}: link entry without "ifname"/"addr_info": ${JSON.stringify(link)}` };
    }
    for (const a of link.addr_info) {
      if (!isObject(a) || a.family !== 'inet') continue;
      if (!isIPv4(a.local) || typeof a.prefixlen !== 'number') {
        return { ok: false, reason: `${command}: bad inet address on ${link.ifname}: ${JSON.stringify(a)}` };
      }
      out.push({ ifname: link.ifname, address: a.local, prefixlen: a.prefixlen, scope: String(a.scope ?? 'global') });
    }
  }
  return { ok: true, value: out };
}

/** This host's IPv4 addresses for the session refresh: no loopback, no link-local, none of `exclude`. */
export function linuxHostIps(addrs: LinuxAddress[], exclude: string[]): string[] {
  const ips = addrs
    .filter((a) => a.ifname !== 'lo' && a.scope !== 'host' && a.scope !== 'link')
    .map((a) => a.address)
    .filter((ip) => !ip.startsWith('127.') && !ip.startsWith('169.254.') && !exclude.includes(ip));
  return [...new Set(ips)];
}
