// Issue 25 item 5: the API client needs no WebAssembly, so the agent runs under V8's --jitless (a host that refuses
// executable memory; the bundle's launcher has the switch, docs/esxi.md). undici, the client before, could not: its
// HTTP parser is WebAssembly, which --jitless removes ("WebAssembly is not defined").
import { spawnSync } from 'node:child_process';
import { bundleForChild, childEnv } from '../../support/netns';

it('requests answer under --jitless, where WebAssembly does not exist', () => {
  const driver = bundleForChild('tests/observe/zbs/jitless-driver.ts');
  const r = spawnSync(process.execPath, ['--jitless', driver], { env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    webAssembly: 'undefined',
    results: [
      { ok: true, status: 200, body: { method: 'GET', url: '/api/v2/zbs_session/session', body: '' } },
      { ok: true, status: 200, body: { method: 'PUT', url: '/api/v2/x', body: '{"a":1}' } },
    ],
  });
});
