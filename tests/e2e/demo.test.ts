// The README's first command runs scripts/demo. With namespaces it crashes SCVM-1 of the simulated cluster under the
// real agent and prints a summary; without them it says why in one line and replays a timeline instead.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { demoMain } from '../support/demo-run';
import { describeNetns } from '../support/netns';

const ROOT = join(__dirname, '..', '..');

describe('the demo where the namespace cluster cannot be built', () => {
  it('says why in one line, then replays the crash timeline with reroute simulate', async () => {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await demoMain([], 'not running as root');
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const text = out.join('');
    expect(text.split('\n')[0]).toBe(
      'demo: cannot build the simulated cluster here (not running as root); replaying examples/timelines/scvm-crash.json with `reroute simulate` instead',
    );
    expect(text).toMatch(/switch 10\.10\.85\.15 -> 10\.10\.85\.16 .*\[local-icmp-down\]/);
    expect(text).toMatch(/^summary scvm-crash: 2 switch\(es\)/m);
  });
});

describeNetns('the demo on the namespace cluster', () => {
  it('crashes SCVM-1, NFS moves to a remote SCVM, comes back after the stable period; the cluster is removed', () => {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts', 'demo'), '--kill-at', '2', '--meta-sec', '3', '--revive-at', '8', '--chunk-sec', '1', '--stable-sec', '3'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}failover: NFS traffic on scvm-[23] [\d.]+ s after SCVM-1 crashed$/m);
    expect(r.stdout).toMatch(/^ {2}back: {5}NFS traffic on scvm-1 [\d.]+ s after SCVM-1 was healthy again/m);
    expect(r.stdout).toMatch(/^demo: cluster \S+ removed$/m);
  }, 150_000);
});
