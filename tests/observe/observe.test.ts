// observe(): the fast out. A pass never waits for the API or the NFS check when the local SCVM fails ICMP, nor when the
// runner's monitor judges the local SCVM or the current target down while the pass waits (`interrupt`).
import { observe, type ObserveDeps } from '../../lib/observe';
import type { RouteBackend } from '../../lib/routes';
import type { ZbsClient } from '../../lib/observe/zbs/client';
import type { Deadline } from '../../lib/runtime/deadline';
import type { ProbeResult, SessionsObservation } from '../../lib/types';
import { config, LOCAL, probe, R16 } from '../decide/builders';
import { recordingLog } from '../support/log';

const never = <T>() => new Promise<T>(() => undefined);

function deps(probes: Record<string, ProbeResult>, sessions: Promise<SessionsObservation>): ObserveDeps {
  const backend = { platform: 'linux', readVip: async () => ({ ok: true, nextHops: [LOCAL] }) } as unknown as RouteBackend;
  const client = { sessions: () => sessions, switches: async () => null } as unknown as ZbsClient;
  return {
    config: config(),
    log: recordingLog(),
    backend,
    client,
    deadline: { step: '' } as unknown as Deadline,
    probes: Promise.resolve(probes),
    cachedSwitches: null,
    reuseList: null,
  };
}

const healthy = { [LOCAL]: probe(LOCAL, true), [R16]: probe(R16, true) };

describe('observe: fast out', () => {
  it('waits for the session list while the local SCVM answers ping', async () => {
    const list: SessionsObservation = { ok: true, sessions: [], from: '192.168.85.15' };
    let answer!: (s: SessionsObservation) => void;
    const obs = observe(deps(healthy, new Promise((r) => (answer = r))));
    let done = false;
    void obs.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    answer(list);
    expect((await obs).sessions).toBe(list);
  });

  it('does not wait when the local SCVM fails ICMP', async () => {
    const obs = await observe(deps({ ...healthy, [LOCAL]: probe(LOCAL, false) }, never()));
    expect(obs.sessions).toMatchObject({ ok: false, skipped: true, reason: 'not awaited: the local SCVM fails ICMP (fast out)' });
    expect(obs.nfs).toMatchObject({ result: 'unknown' });
  });

  it('stops waiting when the monitor judges the local SCVM down meanwhile, and decides on the fresh verdicts', async () => {
    let interrupt!: (v: { down: string; probes: Record<string, ProbeResult> }) => void;
    const d = { ...deps(healthy, never<SessionsObservation>()), interrupt: new Promise<{ down: string; probes: Record<string, ProbeResult> }>((r) => (interrupt = r)) };
    const obs = observe(d);
    setTimeout(() => interrupt({ down: LOCAL, probes: { ...healthy, [LOCAL]: probe(LOCAL, false) } }), 30);
    const o = await obs;
    expect(o.probes[LOCAL]!.reachable).toBe(false);
    expect(o.sessions).toMatchObject({ ok: false, skipped: true, reason: `not awaited: ${LOCAL} went down while the pass waited (fast out)` });
    expect(o.route).toEqual({ ok: true, nextHops: [LOCAL] });
  });
});
