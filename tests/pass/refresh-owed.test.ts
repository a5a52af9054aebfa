// Nothing owed is lost: a session refresh owed after a route switch is sent by the next pass whatever stopped this
// one (SIGKILL right after the route moved, during the refresh, the pass deadline) and when a switch took effect but
// read back as failed. The real CLI against the fake ESXi host and ZBS emulators on loopback.
import { DATA, until, type CliLab, useCliLabs } from '../support/cli-lab';

const lab = useCliLabs();

const refreshes = (l: CliLab) => l.emus.flatMap((e) => e.records.refreshes);
const done = (l: CliLab) => refreshes(l).filter((r) => r.status === 200 && r.sessionId === 'sess-16');

describe('a refresh owed after a switch is never lost', () => {
  it('SIGKILL after the route moved, before anything was saved: the next pass sends the refresh', async () => {
    const l = await lab();
    l.host.writeState({ hangAfter: { list: 1 } }); // the route is read once, moved, then its read-back hangs
    const p = l.start(['route', '--target', DATA[1]]);
    await until('the route to move', () => l.vipVia()[0] === DATA[1]);
    p.child.kill('SIGKILL');
    await p.exit;
    expect(refreshes(l)).toEqual([]);
    l.host.writeState({ hangAfter: {} });
    expect((await l.run(['loop'])).status).toBe(0);
    expect(done(l)).toHaveLength(1);
    expect(l.vipVia()).toEqual([DATA[1]]);
    expect(l.state().engine.refreshed).toMatchObject({ target: DATA[1], sessionId: 'sess-16' });
  });

  it('SIGKILL during the refresh request: the state already says where the route went; the next pass refreshes', async () => {
    const l = await lab();
    l.emus.forEach((e) => e.patch({ faults: { refresh: { hang: true } } }));
    const p = l.start(['route', '--target', DATA[1]]);
    await until('the refresh request', () => refreshes(l).length > 0);
    // durable before the refresh was sent: the pin and the route's new target
    expect(l.state()).toMatchObject({ pin: { target: DATA[1] }, engine: { target: DATA[1] } });
    p.child.kill('SIGKILL');
    await p.exit;
    l.clearFaults();
    expect((await l.run(['loop'])).status).toBe(0);
    expect(done(l)).toHaveLength(1);
  });

  it('the pass deadline during the refresh: exit 1, and the next pass refreshes', async () => {
    // requests may take longer than the pass: the deadline is what ends it
    const l = await lab({ config: { passDeadlineMs: 3000 }, api: { requestTimeoutMs: 20_000, budgetMs: 2900 } });
    l.emus.forEach((e) => e.patch({ faults: { refresh: { hang: true } } }));
    const r = await l.run(['route', '--target', DATA[1]]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ran past its deadline of 3000 ms/);
    expect(l.vipVia()).toEqual([DATA[1]]);
    l.clearFaults();
    expect((await l.run(['loop'])).status).toBe(0);
    expect(done(l)).toHaveLength(1);
  });

  it('a switch that took effect but read back as failed is refreshed by the next pass', async () => {
    const l = await lab({ config: { commandTimeoutMs: 1000 } });
    l.host.writeState({ hangAfter: { list: 1 } }); // the read-back after the add times out
    const r = await l.run(['route', '--target', DATA[1]]);
    expect(r.status).toBe(1);
    expect(l.vipVia()).toEqual([DATA[1]]);
    expect(done(l)).toEqual([]);
    l.host.writeState({ hangAfter: {} });
    expect((await l.run(['loop'])).status).toBe(0);
    expect(done(l)).toHaveLength(1);
  });
});
