// ICMP echo on the wire, pure: build a request, check a checksum, parse what a raw socket hands back, and decide
// whether a datagram answers one of this run's echoes. No sockets, no clock: `now` arrives as an argument.

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
/** 8 bytes: type, code, checksum, identifier, sequence. */
export const ICMP_HEADER_BYTES = 8;
const IPV4_MIN_HEADER_BYTES = 20;
const IPPROTO_ICMP = 1;

/** The Internet checksum (RFC 1071) of `length` bytes from `offset`; an odd last byte is padded with zero. */
export function internetChecksum(buf: Buffer, offset = 0, length = buf.length - offset): number {
  let sum = 0;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The payload every request of a run carries: a fixed pattern, so a reply whose data came back altered or cut short
 * is not counted. Its size is set by the agent, never left to a system ping (DESIGN §4: some vNICs drop packets over
 * the MTU).
 */
export function echoPayload(bytes: number): Buffer {
  const payload = Buffer.alloc(bytes);
  for (let k = 0; k < bytes; k++) payload[k] = (0x72 + k) & 0xff; // 'r', 's', 't', ...
  return payload;
}

/** An ICMP echo request (type 8) with the given identifier, sequence and payload, checksum filled in. */
export function buildEchoRequest(identifier: number, sequence: number, payload: Buffer): Buffer {
  const packet = Buffer.alloc(ICMP_HEADER_BYTES + payload.length);
  packet[0] = ICMP_ECHO_REQUEST;
  packet[1] = 0;
  packet.writeUInt16BE(identifier & 0xffff, 4);
  packet.writeUInt16BE(sequence & 0xffff, 6);
  payload.copy(packet, ICMP_HEADER_BYTES);
  packet.writeUInt16BE(internetChecksum(packet), 2);
  return packet;
}

/** One ICMP message taken out of the IPv4 datagram a raw socket received. */
export interface IcmpMessage {
  /** source address from the IP header */
  source: string;
  type: number;
  code: number;
  identifier: number;
  sequence: number;
  checksumOk: boolean;
  payload: Buffer;
}

/**
 * Parse an IPv4 datagram carrying ICMP, honouring the header length (IHL) since IP options make it longer than 20
 * bytes. Null when it is not IPv4/ICMP or is too short to hold an ICMP header.
 */
export function parseIcmpDatagram(datagram: Buffer): IcmpMessage | null {
  if (datagram.length < IPV4_MIN_HEADER_BYTES) return null;
  const version = datagram[0]! >> 4;
  const headerBytes = (datagram[0]! & 0x0f) * 4;
  if (version !== 4 || headerBytes < IPV4_MIN_HEADER_BYTES) return null;
  if (datagram[9] !== IPPROTO_ICMP) return null;
  if (datagram.length < headerBytes + ICMP_HEADER_BYTES) return null;
  const icmp = datagram.subarray(headerBytes);
  return {
    source: `${datagram[12]}.${datagram[13]}.${datagram[14]}.${datagram[15]}`,
    type: icmp[0]!,
    code: icmp[1]!,
    identifier: icmp.readUInt16BE(4),
    sequence: icmp.readUInt16BE(6),
    checksumOk: internetChecksum(icmp) === 0,
    payload: icmp.subarray(ICMP_HEADER_BYTES),
  };
}

/** What the prober knows of one echo it sent. */
export interface SentEcho {
  /** monotonic ms */
  sentAt: number;
  answered: boolean;
}

/** Everything classification needs from the running sweep. */
export interface MatchContext {
  identifier: number;
  /** the payload every request of this run carried */
  payload: Buffer;
  /** a reply later than this after its request counts as lost, ms */
  waitMs: number;
  /** monotonic ms, same clock as sentAt */
  now: number;
  /** the echo sent to `source` with `sequence`, when this run sent one */
  lookup(source: string, sequence: number): SentEcho | undefined;
}

export type IgnoreReason =
  | 'malformed'
  | 'not-echo-reply'
  | 'bad-checksum'
  | 'other-identifier'
  | 'not-ours'
  | 'payload-mismatch'
  | 'duplicate'
  | 'late';

export type Classification =
  | { kind: 'reply'; source: string; sequence: number; rttMs: number }
  | { kind: 'ignored'; reason: IgnoreReason };

/**
 * Decide whether a received datagram answers one of this run's echoes. Our own requests (a raw socket sees them on
 * loopback), other pingers' replies, corrupted, duplicate and late replies are all ignored with the reason.
 */
export function classifyDatagram(datagram: Buffer, ctx: MatchContext): Classification {
  const msg = parseIcmpDatagram(datagram);
  if (!msg) return { kind: 'ignored', reason: 'malformed' };
  if (msg.type !== ICMP_ECHO_REPLY || msg.code !== 0) return { kind: 'ignored', reason: 'not-echo-reply' };
  if (!msg.checksumOk) return { kind: 'ignored', reason: 'bad-checksum' };
  if (msg.identifier !== ctx.identifier) return { kind: 'ignored', reason: 'other-identifier' };
  const echo = ctx.lookup(msg.source, msg.sequence);
  if (!echo) return { kind: 'ignored', reason: 'not-ours' };
  if (!msg.payload.equals(ctx.payload)) return { kind: 'ignored', reason: 'payload-mismatch' };
  if (echo.answered) return { kind: 'ignored', reason: 'duplicate' };
  const rttMs = ctx.now - echo.sentAt;
  if (rttMs > ctx.waitMs) return { kind: 'ignored', reason: 'late' };
  return { kind: 'reply', source: msg.source, sequence: msg.sequence, rttMs: Math.max(0, rttMs) };
}
