import fc from 'fast-check';
import {
  buildEchoRequest,
  classifyDatagram,
  echoPayload,
  internetChecksum,
  parseIcmpDatagram,
  type MatchContext,
  type SentEcho,
} from '../../../lib/observe/icmp/packet';

/** An IPv4 header (optionally with `optionWords` 32-bit words of options) in front of an ICMP message. */
function ipv4Datagram(source: string, icmp: Buffer, optionWords = 0, protocol = 1): Buffer {
  const headerBytes = 20 + optionWords * 4;
  const header = Buffer.alloc(headerBytes);
  header[0] = 0x40 | (headerBytes / 4);
  header.writeUInt16BE(headerBytes + icmp.length, 2);
  header[8] = 64;
  header[9] = protocol;
  source.split('.').forEach((o, i) => (header[12 + i] = Number(o)));
  [10, 0, 0, 1].forEach((o, i) => (header[16 + i] = o));
  for (let k = 20; k < headerBytes; k++) header[k] = 0x01; // NOP options
  header.writeUInt16BE(internetChecksum(header), 10);
  return Buffer.concat([header, icmp]);
}

/** The reply a host would send to `request`: type 0, same id/seq/data, checksum recomputed. */
function replyTo(request: Buffer): Buffer {
  const reply = Buffer.from(request);
  reply[0] = 0;
  reply.writeUInt16BE(0, 2);
  reply.writeUInt16BE(internetChecksum(reply), 2);
  return reply;
}

describe('internetChecksum', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum (with carries) to ddf2; the checksum is its complement.
    expect(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(~0xddf2 & 0xffff);
  });

  it('pads an odd last byte with zero', () => {
    const odd = Buffer.from([0x12, 0x34, 0x56]);
    expect(internetChecksum(odd)).toBe(internetChecksum(Buffer.from([0x12, 0x34, 0x56, 0x00])));
    expect(internetChecksum(Buffer.from([0xff]))).toBe(0x00ff);
  });

  it('sums to zero over any message that carries its own checksum, whatever its length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 300 }), (bytes) => {
        const msg = Buffer.from(bytes);
        msg.writeUInt16BE(0, 2);
        msg.writeUInt16BE(internetChecksum(msg), 2);
        expect(internetChecksum(msg)).toBe(0);
      }),
    );
  });

  it('honours offset and length', () => {
    const buf = Buffer.from([0xaa, 0xbb, 0x00, 0x01, 0xf2, 0x03, 0xcc]);
    expect(internetChecksum(buf, 2, 4)).toBe(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03])));
  });
});

describe('buildEchoRequest', () => {
  it('lays out type 8, code 0, identifier, sequence and the payload, with a valid checksum', () => {
    const payload = echoPayload(16);
    const p = buildEchoRequest(0xbeef, 0x0102, payload);
    expect(p.length).toBe(8 + 16);
    expect(p[0]).toBe(8);
    expect(p[1]).toBe(0);
    expect(p.readUInt16BE(4)).toBe(0xbeef);
    expect(p.readUInt16BE(6)).toBe(0x0102);
    expect(p.subarray(8).equals(payload)).toBe(true);
    expect(internetChecksum(p)).toBe(0);
  });

  it('is valid for every payload size, odd ones and empty included', () => {
    for (const n of [0, 1, 3, 15, 16, 17, 255, 1471, 1472]) {
      const p = buildEchoRequest(7, 9, echoPayload(n));
      expect(p.length).toBe(8 + n);
      expect(internetChecksum(p)).toBe(0);
    }
  });

  it('matches the checksum of a known ping packet', () => {
    // raw-socket README's sample request: id 1, seq 0x0a09, 32 bytes "abcdefghijklmnopqrstuvwabcdefghi", sum 0x4352.
    const payload = Buffer.from('abcdefghijklmnopqrstuvwabcdefghi', 'ascii');
    expect(buildEchoRequest(1, 0x0a09, payload).readUInt16BE(2)).toBe(0x4352);
  });
});

describe('parseIcmpDatagram', () => {
  const request = buildEchoRequest(0x1234, 5, echoPayload(16));

  it('reads source, type, identifier, sequence and payload behind a 20-byte IP header', () => {
    const m = parseIcmpDatagram(ipv4Datagram('10.78.0.3', replyTo(request)))!;
    expect(m).toMatchObject({ source: '10.78.0.3', type: 0, code: 0, identifier: 0x1234, sequence: 5, checksumOk: true });
    expect(m.payload.equals(echoPayload(16))).toBe(true);
  });

  it('honours IHL when the IP header carries options', () => {
    const m = parseIcmpDatagram(ipv4Datagram('192.0.2.1', replyTo(request), 3))!;
    expect(m).toMatchObject({ source: '192.0.2.1', type: 0, identifier: 0x1234, sequence: 5, checksumOk: true });
    expect(m.payload.length).toBe(16);
  });

  it('flags a corrupted ICMP checksum', () => {
    const bad = replyTo(request);
    bad[10] = bad[10]! ^ 0xff;
    expect(parseIcmpDatagram(ipv4Datagram('10.0.0.2', bad))!.checksumOk).toBe(false);
  });

  it('refuses what is not IPv4 ICMP or is too short', () => {
    expect(parseIcmpDatagram(Buffer.alloc(10))).toBeNull();
    expect(parseIcmpDatagram(ipv4Datagram('10.0.0.2', replyTo(request), 0, 17))).toBeNull();
    const v6 = ipv4Datagram('10.0.0.2', replyTo(request));
    v6[0] = 0x65;
    expect(parseIcmpDatagram(v6)).toBeNull();
    const shortIhl = ipv4Datagram('10.0.0.2', replyTo(request));
    shortIhl[0] = 0x44;
    expect(parseIcmpDatagram(shortIhl)).toBeNull();
    expect(parseIcmpDatagram(ipv4Datagram('10.0.0.2', Buffer.alloc(4)))).toBeNull();
    // IHL pointing past the end of the datagram
    const longIhl = ipv4Datagram('10.0.0.2', Buffer.alloc(8));
    longIhl[0] = 0x4f;
    expect(parseIcmpDatagram(longIhl)).toBeNull();
  });
});

describe('classifyDatagram', () => {
  const ID = 0x4242;
  const payload = echoPayload(16);
  const sent = new Map<string, SentEcho>();
  const ctx = (now: number, over: Partial<MatchContext> = {}): MatchContext => ({
    identifier: ID,
    payload,
    waitMs: 100,
    now,
    lookup: (source, seq) => sent.get(`${source}#${seq}`),
    ...over,
  });
  const reply = (source: string, seq: number, id = ID, data = payload) =>
    ipv4Datagram(source, replyTo(buildEchoRequest(id, seq, data)));

  beforeEach(() => {
    sent.clear();
    sent.set('10.78.0.1#0', { sentAt: 1000, answered: false });
    sent.set('10.78.0.1#1', { sentAt: 1100, answered: true });
    sent.set('10.78.0.2#0', { sentAt: 1000, answered: false });
  });

  it('accepts an echo reply matching source, identifier and sequence, with its round-trip time', () => {
    expect(classifyDatagram(reply('10.78.0.1', 0), ctx(1012.5))).toEqual({
      kind: 'reply',
      source: '10.78.0.1',
      sequence: 0,
      rttMs: 12.5,
    });
  });

  it('ignores our own echo request seen on loopback', () => {
    const ownRequest = ipv4Datagram('10.78.0.1', buildEchoRequest(ID, 0, payload));
    expect(classifyDatagram(ownRequest, ctx(1001))).toEqual({ kind: 'ignored', reason: 'not-echo-reply' });
  });

  it("ignores other pingers' replies (another identifier)", () => {
    expect(classifyDatagram(reply('10.78.0.1', 0, ID + 1), ctx(1001))).toEqual({
      kind: 'ignored',
      reason: 'other-identifier',
    });
  });

  it('ignores a reply from an address or sequence this run never sent to', () => {
    expect(classifyDatagram(reply('10.78.0.9', 0), ctx(1001))).toEqual({ kind: 'ignored', reason: 'not-ours' });
    // right sequence, wrong source: the reply must come from the address the echo went to
    expect(classifyDatagram(reply('10.78.0.2', 1), ctx(1101))).toEqual({ kind: 'ignored', reason: 'not-ours' });
  });

  it('ignores a duplicate reply', () => {
    expect(classifyDatagram(reply('10.78.0.1', 1), ctx(1105))).toEqual({ kind: 'ignored', reason: 'duplicate' });
  });

  it('ignores a reply later than the per-echo wait, and accepts one exactly at it', () => {
    expect(classifyDatagram(reply('10.78.0.2', 0), ctx(1100.001))).toEqual({ kind: 'ignored', reason: 'late' });
    expect(classifyDatagram(reply('10.78.0.2', 0), ctx(1100)).kind).toBe('reply');
  });

  it('ignores a reply with a bad checksum', () => {
    const r = reply('10.78.0.1', 0);
    r[r.length - 1] = r[r.length - 1]! ^ 0x01;
    expect(classifyDatagram(r, ctx(1001))).toEqual({ kind: 'ignored', reason: 'bad-checksum' });
  });

  it('ignores a reply whose data is not what we sent (truncated or altered)', () => {
    expect(classifyDatagram(reply('10.78.0.1', 0, ID, payload.subarray(0, 8)), ctx(1001))).toEqual({
      kind: 'ignored',
      reason: 'payload-mismatch',
    });
  });

  it('ignores other ICMP (destination unreachable) and garbage', () => {
    const unreach = Buffer.alloc(36);
    unreach[0] = 3;
    unreach[1] = 1;
    unreach.writeUInt16BE(internetChecksum(unreach), 2);
    expect(classifyDatagram(ipv4Datagram('10.77.0.1', unreach), ctx(1001))).toEqual({
      kind: 'ignored',
      reason: 'not-echo-reply',
    });
    expect(classifyDatagram(Buffer.from('hello'), ctx(1001))).toEqual({ kind: 'ignored', reason: 'malformed' });
  });

  it('never accepts a datagram unless every rule holds (random datagrams)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        const c = classifyDatagram(Buffer.from(bytes), ctx(1001));
        if (c.kind === 'reply') {
          const m = parseIcmpDatagram(Buffer.from(bytes))!;
          expect(m.type).toBe(0);
          expect(m.identifier).toBe(ID);
          expect(m.checksumOk).toBe(true);
        }
      }),
    );
  });
});
