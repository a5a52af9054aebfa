// Strict IPv4 checks. Everything that reaches a command line, a URL or the state file passes through here first.

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** True for a plain dotted-quad IPv4 address ("10.10.85.15"); false for anything else, "010.1.1.1" included. */
export function isIPv4(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 15 && DOTTED_QUAD.test(value);
}

/** The address as a 32-bit unsigned number. The caller has checked isIPv4. */
export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** True when `ip` lies in `network`/`prefix`. */
export function inSubnet(ip: string, network: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : (~0 << (32 - prefix)) >>> 0;
  return ((ipv4ToNumber(ip) & mask) >>> 0) === ((ipv4ToNumber(network) & mask) >>> 0);
}

/** Prefix length of a dotted netmask ("255.255.255.0" -> 24), or null when it is not a contiguous mask. */
export function netmaskToPrefix(mask: string): number | null {
  if (!isIPv4(mask)) return null;
  const n = ipv4ToNumber(mask);
  const inverted = ~n >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return null;
  return 32 - Math.log2(inverted + 1);
}
