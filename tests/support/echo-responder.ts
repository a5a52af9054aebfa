// A user-space ICMP echo responder for the false-verdict benchmark, run inside an SCVM's namespace whose kernel echo
// answers are off (sysctl net.ipv4.icmp_echo_ignore_all=1; this kernel has no netem). It answers like an SCVM of a
// slow or jittery cluster, after a profile:
//   nested: 3% of echoes lost, 3% answered 100-400 ms late, and a 500 ms stall every minute
//   harsh:  every echo answered 600-900 ms late, 3% lost, and the same stall
// argv: <profile>. Prints "ready" once its socket is open. Only ever answers what it is sent.
import { internetChecksum } from '../../lib/observe/icmp/packet';

type Profile = 'nested' | 'harsh';

interface RawSocket {
  on(event: 'message', fn: (buffer: Buffer, source: string) => void): void;
  send(buffer: Buffer, offset: number, length: number, address: string, cb: (error: Error | null) => void): void;
}

const STALL_EVERY_MS = 60_000;
const STALL_MS = 500;

/** How long to hold the answer to an echo arriving now (ms), or null to drop it. */
export function answerDelay(profile: Profile, now: number, random: () => number = Math.random): number | null {
  if (random() < 0.03) return null;
  let delay = 0;
  if (profile === 'harsh') delay = 600 + random() * 300;
  else if (random() < 0.03) delay = 100 + random() * 300;
  // the stall: nothing leaves during [k*60 s, k*60 s + 500 ms); what falls due in it leaves at its end
  const due = now + delay;
  const inMinute = due % STALL_EVERY_MS;
  if (inMinute < STALL_MS) delay += STALL_MS - inMinute;
  return delay;
}

const keep: RawSocket[] = [];

function main(): void {
  const profile = process.argv[2] as Profile;
  if (profile !== 'nested' && profile !== 'harsh') throw new Error(`profile "${profile}": use nested or harsh`);
   
  const raw = require('raw-socket') as { createSocket(o: { protocol: number }): RawSocket; Protocol: { ICMP: number } };
  const socket = raw.createSocket({ protocol: raw.Protocol.ICMP });
  // rooted: a socket reachable only from its own listener is collected, its poll handle closed, and the process exits
  // 0 with nothing left on its event loop (after about 90 s here, at the first full GC)
  keep.push(socket);
  socket.on('message', (datagram, source) => {
    const ihl = (datagram[0]! & 0x0f) * 4;
    if (datagram[ihl] !== 8 || datagram[ihl + 1] !== 0) return; // echo requests only
    const reply = Buffer.from(datagram.subarray(ihl));
    reply[0] = 0; // echo reply
    reply.writeUInt16BE(0, 2);
    reply.writeUInt16BE(internetChecksum(reply), 2);
    const delay = answerDelay(profile, Date.now());
    if (delay === null) return;
    setTimeout(() => socket.send(reply, 0, reply.length, source, () => undefined), delay);
  });
  process.stdout.write('ready\n');
}

if (require.main === module) main();
