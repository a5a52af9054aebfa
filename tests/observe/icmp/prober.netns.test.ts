// The prober against the real kernel: a prober namespace and a peer namespace joined by a veth, the peer answering
// on several addresses, nftables in the peer silencing some of them. Every packet stays inside these namespaces.
import { spawnSync } from 'node:child_process';
import { probe, type ProbeSettings } from '../../../lib/observe/icmp/prober';
import type { ProbeResult } from '../../../lib/types';
import { bundleForChild, childEnv, describeNetns, NetnsLab } from '../../support/netns';
import { recordingLog } from '../../support/log';
import type { RunFigures } from './probe-driver';

const SETTINGS: ProbeSettings = {
  count: 10,
  intervalMs: 50,
  waitMs: 300,
  timeoutMs: 2000,
  minReplies: 3,
  payloadBytes: 16,
  mtu: 1500,
  paceMs: 1,
};

interface DriverOutput {
  results?: Record<string, ProbeResult>;
  runs?: RunFigures[];
  error?: { code: string; message: string };
}

describe('probe without a socket', () => {
  it('refuses invalid addresses as data, before opening any socket', async () => {
    const log = recordingLog();
    const r = await probe(['10.0.0.256', 'nope', ''], SETTINGS, log);
    expect(Object.keys(r).sort()).toEqual(['', '10.0.0.256', 'nope']);
    for (const res of Object.values(r)) {
      expect(res).toMatchObject({ sent: 0, received: 0, lossPct: 100, reachable: false });
      expect(res.error).toMatch(/IPv4/);
    }
  });
});

describeNetns('probe in network namespaces', () => {
  const lab = new NetnsLab('icmp');
  let prober = '';
  let bundle = '';

  beforeAll(() => {
    bundle = bundleForChild('tests/observe/icmp/probe-driver.ts');
    prober = lab.addNamespace('prober');
    const peer = lab.addNamespace('peer');
    lab.link(prober, '10.77.0.1/24', peer, '10.77.0.2/24');
    const peerIf = lab.exec(peer, ['ip', '-o', 'link', 'show']).match(/^\d+: (\w+)@/m)![1]!;
    // answering .1-.3, silenced .4-.5, first echo dropped .6, most echoes dropped .7, answering .8-.9
    for (let i = 1; i <= 9; i++) lab.exec(peer, ['ip', 'addr', 'add', `10.78.0.${i}/32`, 'dev', peerIf]);
    lab.exec(prober, ['ip', 'route', 'add', '10.78.0.0/24', 'via', '10.77.0.2']);
    lab.exec(prober, ['ip', 'route', 'add', 'unreachable', '10.98.0.0/24']);
    lab.exec(peer, ['nft', '-f', '-'], {
      input: `table inet rrtest {
        chain input {
          type filter hook input priority 0;
          ip daddr { 10.78.0.4, 10.78.0.5 } icmp type echo-request drop
          ip daddr 10.78.0.6 icmp type echo-request numgen inc mod 1000 == 0 drop
          ip daddr 10.78.0.7 icmp type echo-request numgen inc mod 10 != 0 drop
        }
      }`,
    });
  });

  afterAll(() => lab.teardown());

  /** Run the driver inside the prober namespace; `prefix` wraps the command (e.g. setpriv). */
  function sweep(targets: string[], settings: Partial<ProbeSettings> = {}, prefix: string[] = []) {
    const input = JSON.stringify({ targets, settings: { ...SETTINGS, ...settings } });
    const r = lab.execRaw(prober, [...prefix, process.execPath, bundle, input], { env: childEnv(), timeoutMs: 15_000 });
    // The driver never calls process.exit: ending on its own (no kill by the timeout) proves the socket was closed.
    expect(r.signal).toBeNull();
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as DriverOutput;
    return { status: r.status, stderr: r.stderr, out, wallMs: out.runs?.[0]?.wallMs ?? NaN };
  }

  it('judges answering targets reachable, quickly, with round-trip times', () => {
    const { status, out, wallMs } = sweep(['10.78.0.1', '10.78.0.2', '10.78.0.3', '127.0.0.1', '10.77.0.2']);
    expect(status).toBe(0);
    for (const ip of ['10.78.0.1', '10.78.0.2', '10.78.0.3', '127.0.0.1', '10.77.0.2']) {
      const r = out.results![ip]!;
      expect(r).toMatchObject({ ip, received: 3, lossPct: 0, reachable: true });
      expect(r.sent).toBeGreaterThanOrEqual(3);
      expect(r.error).toBeUndefined();
      expect(r.rttMinMs!).toBeGreaterThanOrEqual(0);
      expect(r.rttMinMs!).toBeLessThanOrEqual(r.rttAvgMs!);
      expect(r.rttAvgMs!).toBeLessThanOrEqual(r.rttMaxMs!);
      expect(r.rttMaxMs!).toBeLessThan(SETTINGS.waitMs);
    }
    // settled after the third echo (2 intervals), not at the timeout
    expect(wallMs).toBeGreaterThanOrEqual(2 * SETTINGS.intervalMs - 5);
    expect(wallMs).toBeLessThan(SETTINGS.timeoutMs);
  });

  it('judges silenced targets unreachable as soon as minReplies is out of reach, not at the timeout', () => {
    const { out, wallMs } = sweep(['10.78.0.4', '10.78.0.5']);
    for (const ip of ['10.78.0.4', '10.78.0.5']) {
      const r = out.results![ip]!;
      expect(r).toMatchObject({ received: 0, lossPct: 100, reachable: false, rttAvgMs: null });
      expect(r.error).toBeUndefined();
      // the 8th echo (sent at 7 intervals) had to be lost before 3 of 10 became impossible
      expect(r.sent).toBeGreaterThanOrEqual(8);
    }
    const certainAt = 7 * SETTINGS.intervalMs + SETTINGS.waitMs;
    expect(wallMs).toBeGreaterThanOrEqual(certainAt - 5);
    expect(wallMs).toBeLessThan(SETTINGS.timeoutMs);
  });

  it('does not judge a target on one lost echo', () => {
    const r = sweep(['10.78.0.6']).out.results!['10.78.0.6']!;
    expect(r).toMatchObject({ sent: 4, received: 3, lossPct: 25, reachable: true });
  });

  it('calls a target that answers fewer than minReplies of count unreachable, with its replies counted', () => {
    const r = sweep(['10.78.0.7']).out.results!['10.78.0.7']!;
    expect(r).toMatchObject({ sent: 10, received: 1, lossPct: 90, reachable: false });
    expect(r.rttAvgMs).not.toBeNull();
  });

  it('marks targets with no route unreachable with the send error, and the rest of the sweep goes on', () => {
    const { out } = sweep(['10.99.0.1', '10.98.0.7', '10.78.0.1', '10.78.0.4', 'not-an-ip', '10.78.0.1']);
    expect(out.results!['10.99.0.1']).toMatchObject({ sent: 0, reachable: false, error: 'ENETUNREACH' });
    expect(out.results!['10.98.0.7']).toMatchObject({ sent: 0, reachable: false, error: 'EHOSTUNREACH' });
    expect(out.results!['10.78.0.1']).toMatchObject({ received: 3, reachable: true });
    expect(out.results!['10.78.0.4']).toMatchObject({ received: 0, reachable: false });
    expect(out.results!['not-an-ip']).toMatchObject({ sent: 0, reachable: false });
    expect(Object.keys(out.results!)).toHaveLength(5);
  });

  it('stops at the sweep timeout and counts echoes still in flight as lost', () => {
    const { out, wallMs } = sweep(['10.78.0.4', '10.78.0.8'], { waitMs: 5000, timeoutMs: 400, minReplies: 10 });
    const silent = out.results!['10.78.0.4']!;
    expect(silent.reachable).toBe(false);
    // at most the 8 rounds that start within 400 ms (fewer when the machine is loaded)
    expect(silent.sent).toBeGreaterThanOrEqual(1);
    expect(silent.sent).toBeLessThanOrEqual(8);
    expect(silent.lossPct).toBe(100);
    // 10 replies needed, only 8 rounds fit in 400 ms: unreachable though it answered everything it was sent
    const answering = out.results!['10.78.0.8']!;
    expect(answering.reachable).toBe(false);
    expect(answering.received).toBe(answering.sent);
    expect(wallMs).toBeGreaterThanOrEqual(395);
    expect(wallMs).toBeLessThan(5000); // the timeout, not the 5 s wait of an echo
  });

  it('keeps judging other targets while a dead neighbour makes the kernel answer "host unreachable"', () => {
    // ARP for 10.77.0.9 fails after about 3 s; the sweep must outlast that with echoes still going to 10.78.0.8.
    const { out, wallMs } = sweep(['10.77.0.9', '10.78.0.8'], {
      count: 40,
      intervalMs: 100,
      waitMs: 500,
      timeoutMs: 5000,
      minReplies: 40,
    });
    expect(out.results!['10.78.0.8']).toMatchObject({ sent: 40, received: 40, reachable: true });
    expect(out.results!['10.78.0.8']!.error).toBeUndefined();
    expect(out.results!['10.77.0.9']).toMatchObject({ received: 0, reachable: false });
    expect(wallMs).toBeGreaterThan(3900);
  });

  it("does not count another pinger's replies to the same target", () => {
    const ns = prober;
    const ping = lab.execRaw(ns, ['sh', '-c', 'busybox ping -c 60 -i 0.01 -q 10.78.0.8 >/dev/null 2>&1 & echo $!'], {});
    try {
      const r = sweep(['10.78.0.8'], { minReplies: 10, intervalMs: 20 }).out.results!['10.78.0.8']!;
      expect(r).toMatchObject({ sent: 10, received: 10, lossPct: 0, reachable: true });
    } finally {
      const pid = Number(ping.stdout.trim());
      if (pid > 0) spawnSync('kill', [String(pid)]);
    }
  });

  it('throws PermissionError naming CAP_NET_RAW when the raw socket is refused', () => {
    const { status, out } = sweep(['10.78.0.1'], {}, ['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw']);
    expect(status).toBe(2);
    expect(out.error?.code).toBe('E_PERMISSION');
    expect(out.error?.message).toMatch(/run as root or grant CAP_NET_RAW/);
  });

  it('sends the configured payload size on the wire', () => {
    // The peer drops echo requests longer than 28 + 40 bytes: a 40-byte payload passes, 41 does not.
    const peer = `${lab.prefix}-peer`;
    lab.exec(peer, ['nft', 'add', 'rule', 'inet', 'rrtest', 'input', 'ip', 'daddr', '10.78.0.9', 'meta', 'length', '>', '68', 'drop']);
    const fits = sweep(['10.78.0.9'], { payloadBytes: 40 }).out.results!['10.78.0.9']!;
    const over = sweep(['10.78.0.9'], { payloadBytes: 41 }).out.results!['10.78.0.9']!;
    expect(fits.reachable).toBe(true);
    expect(over).toMatchObject({ received: 0, reachable: false });
  });
});
