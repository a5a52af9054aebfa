// How the agent starts itself again (the runner's successor after a config change or an upgrade).
import { bundleLauncher, selfCommand } from '../../lib/runtime/self-command';

describe('selfCommand', () => {
  it('in the bundle: the launcher from REROUTE_BUNDLE with the agent\'s own arguments, never the loader', () => {
    // as the single executable sees itself when its launcher ran `ld-linux ... bin/reroute.real loop --every 1`
    const loader = '/opt/reroute/lib/ld-linux-x86-64.so.2';
    const proc = { argv: [loader, loader, '--config', '/scratch/reroute/config.json', 'loop', '--every', '1'], execPath: loader, env: { REROUTE_BUNDLE: '/opt/reroute' } };
    expect(selfCommand(proc, true)).toEqual(['/opt/reroute/bin/reroute', ['--config', '/scratch/reroute/config.json', 'loop', '--every', '1']]);
  });

  it('in the bundle without REROUTE_BUNDLE: an error naming the launcher, not a spawn of the loader', () => {
    const proc = { argv: ['/x/ld.so', '/x/ld.so', 'loop'], execPath: '/x/ld.so', env: {} };
    expect(() => selfCommand(proc, true)).toThrow(/REROUTE_BUNDLE is not set/);
  });

  it('from a checkout: the same Node and script', () => {
    const proc = { argv: ['/usr/bin/node', '/repo/dist/reroute.js', 'loop', '--every', '1'], execPath: '/usr/bin/node', env: { REROUTE_BUNDLE: '/opt/reroute' } };
    expect(selfCommand(proc, false)).toEqual(['/usr/bin/node', ['/repo/dist/reroute.js', 'loop', '--every', '1']]);
  });

  it('bundleLauncher: only inside the single executable', () => {
    expect(bundleLauncher({ REROUTE_BUNDLE: '/opt/reroute' }, true)).toBe('/opt/reroute/bin/reroute');
    expect(bundleLauncher({ REROUTE_BUNDLE: '/opt/reroute' }, false)).toBeNull();
    expect(bundleLauncher({}, true)).toBeNull();
  });
});
