// The long-lived runner's route backend (lib/routes/cached.ts) over the fake ESXi host's real commands: a read is
// reused for maxAgeMs and marked so; a fresh read, a switch or a failed read leaves nothing stale behind.
import { configSchema } from '../../lib/config/schema';
import { createRouteBackend, type RouteBackend } from '../../lib/routes';
import { cachedRoutes } from '../../lib/routes/cached';
import { fakeEsxiHost, type FakeEsxiHost } from '../support/esxi';
import { recordingLog } from '../support/log';

const VIP = '192.168.33.2';
const LOCAL = '10.10.85.15';
const REMOTE = '10.10.85.16';

let host: FakeEsxiHost;
let clock = 0;
let backend: RouteBackend;

beforeEach(async () => {
  host = fakeEsxiHost(); // the lab plan: the VIP via the local SCVM 10.10.85.15 on vmk1
  const config = configSchema.parse({ local: { dataIp: LOCAL, manageIp: '192.168.85.15' } });
  const real = await createRouteBackend(config, recordingLog(), { dryRun: false, env: host.env, detect: { kernel: 'VMkernel' } });
  clock = 0;
  backend = cachedRoutes(real, 10_000, () => clock);
});
afterEach(() => host.cleanup());

const reads = () => host.calls().filter((c) => !host.changingCalls().includes(c)).length;

describe('cachedRoutes', () => {
  it('reuses a read for maxAgeMs, marked reused; then reads again', async () => {
    expect(await backend.readVip()).toEqual({ ok: true, nextHops: [LOCAL] });
    const after1 = reads();
    clock = 9_999;
    expect(await backend.readVip()).toEqual({ ok: true, nextHops: [LOCAL], reused: true });
    expect(reads()).toBe(after1);
    clock = 10_000;
    expect(await backend.readVip()).toEqual({ ok: true, nextHops: [LOCAL] });
    expect(reads()).toBeGreaterThan(after1);
  });

  it('a fresh read is asked for and sees a change made by hand', async () => {
    await backend.readVip();
    const routes = host.readState().routes.map((r) => (r.network === VIP ? { ...r, gateway: REMOTE } : r));
    host.writeState({ routes }); // by hand, behind the runner's back
    expect(await backend.readVip()).toMatchObject({ nextHops: [LOCAL], reused: true });
    expect(await backend.readVip({ fresh: true })).toEqual({ ok: true, nextHops: [REMOTE] });
    expect(await backend.readVip()).toEqual({ ok: true, nextHops: [REMOTE], reused: true });
  });

  it('after a switch it holds what the switch read back', async () => {
    await backend.readVip();
    const r = await backend.switchTo(REMOTE, [LOCAL]);
    expect(r.after).toEqual([REMOTE]);
    expect(await backend.readVip()).toEqual({ ok: true, nextHops: [REMOTE], reused: true });
  });

  it('a failed read is not kept', async () => {
    await backend.readVip();
    host.writeState({ fail: { list: true } });
    clock = 10_000;
    const failed = await backend.readVip();
    expect(failed.ok).toBe(false);
    host.writeState({ fail: {} });
    expect(await backend.readVip()).toEqual({ ok: true, nextHops: [LOCAL] });
  });
});
