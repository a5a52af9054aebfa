// The long-lived runner's ICMP monitor against the real kernel, at production probe settings: a monitor namespace
// and a peer answering on some addresses and silenced (nftables) on others. What matters here is the minute's
// hand-over: a new process given the last one's memory goes on counting a silence where the last one left it, so a
// crash just before the hand-over is not judged a whole silence later. Every packet stays inside these namespaces.
import { bundleForChild, childEnv, describeNetns, NetnsLab } from '../../support/netns';
import type { MemoryInput, MonitorOutput } from './monitor-driver';

const ANSWERS = '10.79.0.1';
const ANSWERS_TOO = ['10.79.0.2', '10.79.0.3'];
const SILENT = '10.79.0.4';
/** production defaults (lib/config/schema.ts) */
const SILENCE_MS = 700;
const DOWN_AFTER = 3;
/** a LAN's round trips, as the last process measured them: the wait for an echo is probe.rtoMinMs */
const LAN = { srtt: 0.2, rttvar: 0.1 };

describeNetns('the ICMP monitor in network namespaces', () => {
  const lab = new NetnsLab('mon');
  let ns = '';
  let bundle = '';
  let proberBundle = '';

  beforeAll(() => {
    bundle = bundleForChild('tests/observe/icmp/monitor-driver.ts');
    proberBundle = bundleForChild('tests/observe/icmp/probe-driver.ts');
    ns = lab.addNamespace('monitor');
    const peer = lab.addNamespace('peer');
    lab.link(ns, '10.76.0.1/24', peer, '10.76.0.2/24');
    const peerIf = lab.exec(peer, ['ip', '-o', 'link', 'show']).match(/^\d+: (\w+)@/m)![1]!;
    for (const ip of [ANSWERS, ...ANSWERS_TOO, SILENT]) lab.exec(peer, ['ip', 'addr', 'add', `${ip}/32`, 'dev', peerIf]);
    lab.exec(ns, ['ip', 'route', 'add', '10.79.0.0/24', 'via', '10.76.0.2']);
    lab.exec(peer, ['nft', '-f', '-'], {
      input: `table inet rrtest {
        chain input {
          type filter hook input priority 0;
          ip daddr ${SILENT} icmp type echo-request drop
        }
      }`,
    });
  });

  afterAll(() => lab.teardown());

  function watch(targets: string[], memory: MemoryInput, watchMs: number, wakesFromMs?: number): MonitorOutput {
    const input = JSON.stringify({ targets, memory, watchMs, wakesFromMs });
    const r = lab.execRaw(ns, [process.execPath, bundle, input], { env: childEnv(), timeoutMs: 15_000 });
    expect(r.signal).toBeNull(); // it ended on its own: the monitor closed its socket and timer
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as MonitorOutput;
  }

  it('issue 32: reports what the sweep reports of the same targets (one builder): answering, silent, no route', () => {
    const NO_ROUTE = '10.99.0.1'; // the namespace has no route there: the kernel refuses the send
    const targets = [ANSWERS, SILENT, NO_ROUTE];
    // the silent one known from the last process (a LAN's round trips): judged down within the 1.5 s
    const mon = watch(targets, { [SILENT]: { ...LAN, verdict: 'up' } }, 1500).results;
    const r = lab.execRaw(ns, [process.execPath, proberBundle, JSON.stringify({ targets })], { env: childEnv(), timeoutMs: 15_000 });
    const sweep = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { results: typeof mon }).results;
    const shape = (x: (typeof mon)[string]) => ({ reachable: x.reachable, error: x.error, answered: x.received > 0, lossPct: x.received === 0 ? x.lossPct : 'some' });
    for (const ip of targets) expect([ip, shape(mon[ip]!)]).toEqual([ip, shape(sweep[ip]!)]);
    expect(mon[ANSWERS]).toMatchObject({ reachable: true, lossPct: 0 });
    expect(mon[SILENT]).toMatchObject({ reachable: false, received: 0, lossPct: 100 });
    // nothing could be sent: an empty window, no answer heard, in both
    for (const res of [mon[NO_ROUTE], sweep[NO_ROUTE]]) expect(res).toMatchObject({ sent: 0, received: 0, lossPct: 100, reachable: false, error: 'ENETUNREACH' });
  });

  const downAt = (out: MonitorOutput, ip: string) => out.changes.find((c) => c.ip === ip && c.verdict === 'down')?.atMs;

  it('calls an answering target up at its first answer, and a silent one down no sooner than a silence', () => {
    const out = watch([ANSWERS, SILENT], { [SILENT]: { ...LAN, verdict: 'up' } }, 1500);
    expect(out.changes.filter((c) => c.ip === ANSWERS).map((c) => c.verdict)).toEqual(['up']);
    expect(downAt(out, SILENT)).toBeGreaterThanOrEqual(SILENCE_MS);
  });

  it('goes on counting a silence handed over by the last process: down at once when it has run out', () => {
    const handed = { ...LAN, verdict: 'up' as const, heardAgoMs: SILENCE_MS, lostInRow: DOWN_AFTER };
    const out = watch([SILENT], { [SILENT]: handed }, 1500);
    // a fresh count would take SILENCE_MS (the test above); the margin is for a loaded machine
    expect(downAt(out, SILENT)).toBeLessThan(SILENCE_MS / 2);
  });

  it('counts the rest of a silence begun under the last process', () => {
    const out = watch([SILENT], { [SILENT]: { ...LAN, verdict: 'up', heardAgoMs: 400, lostInRow: 1 } }, 1500);
    const at = downAt(out, SILENT)!;
    // the monitor judges when the silence ends (no timer's step late), and its start comes a moment after `heardAt`
    expect(at).toBeGreaterThanOrEqual(SILENCE_MS - 400 - 20);
    expect(at).toBeLessThan(SILENCE_MS);
  });

  it('does not believe a silence handed over more than a minute ago (a process that died long before)', () => {
    const out = watch([SILENT], { [SILENT]: { ...LAN, verdict: 'up', heardAgoMs: 120_000, lostInRow: DOWN_AFTER } }, 1500);
    expect(downAt(out, SILENT)).toBeGreaterThanOrEqual(SILENCE_MS);
  });

  it('issue 27: believes a handed-over "down" only within a silence of its hand-over; an older one is judged afresh', () => {
    // SCVM-1 revived; a runner started 15 s after the last one handed over "down" must not call it down again
    const stale = watch([ANSWERS], { [ANSWERS]: { ...LAN, verdict: 'down', handedAgoMs: 15_000 } }, 500);
    expect(stale.initial[ANSWERS]).toBe('unknown');
    expect(stale.changes.filter((c) => c.ip === ANSWERS).map((c) => c.verdict)).toEqual(['up']);
    // without the time of its hand-over (a file of an older version) likewise
    const undated = watch([ANSWERS], { [ANSWERS]: { ...LAN, verdict: 'down' } }, 300);
    expect(undated.initial[ANSWERS]).toBe('unknown');
    // the minute's hand-over, a moment ago: the down stands until the target answers again
    const fresh = watch([SILENT], { [SILENT]: { ...LAN, verdict: 'down', handedAgoMs: 50 } }, 300);
    expect(fresh.initial[SILENT]).toBe('down');
    expect(fresh.changes).toEqual([]);
  });

  it('hands over when each target was last heard, its echoes lost in a row and when', () => {
    const out = watch([ANSWERS, SILENT], { [SILENT]: { ...LAN, verdict: 'up' } }, 1200);
    const answers = out.snapshot[ANSWERS]!;
    expect(out.snapshotAt - answers.heardAt!).toBeLessThan(300); // answered every 100 ms
    expect(answers.lostInRow).toBe(0);
    const silent = out.snapshot[SILENT]!;
    expect(out.snapshotAt - silent.heardAt!).toBeGreaterThanOrEqual(1200); // never: the count began with the watch
    expect(silent.lostInRow).toBeGreaterThanOrEqual(DOWN_AFTER);
    expect(silent.verdict).toBe('down');
    expect(Math.abs(out.snapshotAt - silent.at!)).toBeLessThan(50);
  });

  it('wakes once per probe.intervalMs when steady, however many targets it watches (a wake costs the host CPU)', () => {
    // four targets at the fast pace, one of them silent: once that one is down, only the sends are due, all together
    const out = watch([ANSWERS, ...ANSWERS_TOO, SILENT], { [SILENT]: { ...LAN, verdict: 'up' } }, 2500, 1000);
    expect(downAt(out, SILENT)).toBeDefined();
    // 1500 ms at a send every 100 ms: 15 wakes, and a few for the rest of the process (a timer that woke twice as
    // often, or one wake per target, would be 30 or more)
    expect(out.wakes).toBeGreaterThanOrEqual(10);
    expect(out.wakes).toBeLessThanOrEqual(22);
  });
});
