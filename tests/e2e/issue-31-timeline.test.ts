// Issue 31: the picture of a real failover. The agent as installed (busybox crond, cron's bare environment, production
// defaults; tests/support/installed.ts) on the simulated cluster; SCVM-1 crashes; `reroute timeline` runs in the host
// namespace as an operator would, and its SVG, rendered by headless Chromium, shows the three SCVMs, the local one
// down, the route on a remote SCVM and the switch with its reason, every text readable and inside the picture.
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAN } from '../support/cluster';
import { killScvm, sleep, useClusterHarness, waitFor } from '../support/cluster-e2e';
import { cliInHost, install, startRunnerNow, type Installed } from '../support/installed';
import { describeNetns } from '../support/netns';
import { readabilityFaults, renderSvgFiles } from '../support/svg-in-chromium';

jest.setTimeout(180_000);

const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

describeNetns('issue 31: the timeline of a real failover', () => {
  const e2e = useClusterHarness();
  let agent: Installed | undefined;
  afterEach(() => {
    agent?.stop();
    agent = undefined;
  });

  test('SCVM-1 crashes: reroute timeline draws three lanes, the local one down, the switch to a remote SCVM with its reason', async () => {
    const cluster = await e2e.up();
    const a = (agent = install(cluster, { persistent: join(cluster.dir, 'persistent') }));
    startRunnerNow(cluster, a);
    const watch = e2e.watchNfs(50);
    await waitFor('the first runner', () => (lstatSync(join(a.run, 'runner.lock'), { throwIfNoEntry: false }) ? true : undefined), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- log ---\n${read(a.log).slice(-3000)}`);
    });
    await sleep(3000);
    expect(watch.samples.at(-1)?.who).toBe('scvm-1');

    const t = Date.now();
    await killScvm(cluster, 'scvm-1');
    await watch.waitFirst(t, (who) => who === 'scvm-2' || who === 'scvm-3', 10_000);
    const store = join(a.run, 'events.json');
    await waitFor('the switch and the local SCVM down in the event store', () => (/"kind":"switch"/.test(read(store)) && /"check":"icmp","was":"up","now":"down"/.test(read(store))) || undefined, 15_000);

    const out = join(cluster.dir, 'timeline.svg');
    const r = cliInHost(cluster, a, ['timeline', '--since', '10m', '--out', out]);
    expect(r.stderr).toMatch(/^timeline: /);
    expect(r.status).toBe(0);

    const events = JSON.parse(read(store)) as { events: { kind: string; seq: number; to?: string; reason?: string }[] };
    const marked = events.events.filter((e) => ['switch', 'pin-set', 'pin-cleared'].includes(e.kind));
    const [pic] = await renderSvgFiles([{ svg: out, png: join(tmpdir(), 'reroute-timeline-e2e.png') }]);
    if (!pic) throw new Error('nothing rendered');
    expect(pic.lanes).toEqual(PLAN.scvms.map((s) => s.dataIp));
    expect(pic.marks.map((m) => m.seq)).toEqual(marked.map((e) => e.seq));
    expect(pic.marks.filter((m) => m.kind === 'switch').length).toBeGreaterThanOrEqual(1);
    expect(readabilityFaults(pic)).toEqual([]);
    const sw = marked.find((e) => e.kind === 'switch')!;
    expect(pic.texts.some((x) => x.text.includes(`→ ${sw.to} ${sw.reason}`))).toBe(true);
    // the local SCVM's ICMP lane goes down; the route band ends on the remote SCVM
    const localIcmp = pic.segs.filter((s) => s.scvm === PLAN.scvms[0].dataIp && s.check === 'icmp').map((s) => s.state);
    expect(localIcmp.at(-1)).toBe('down');
    expect(pic.segs.filter((s) => s.row === 'route').map((s) => s.state).at(-1)).toBe(sw.to);
  });
});
