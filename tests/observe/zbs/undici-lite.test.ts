// lib/observe/zbs/undici-lite.ts loads undici's private files (lib/dispatcher/agent, lib/api/api-request). A minor
// release may move them, so: every package whose private files lib/ loads is pinned to one exact version, the
// installed copy is that version, and the private entry points still work against a real server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, request } from '../../../lib/observe/zbs/undici-lite';

const ROOT = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Packages whose files below the package root lib/ requires or imports, e.g. "undici" for "undici/lib/x". */
function packagesLoadedByPrivatePath(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const spec = /(?:require\(|from\s+)'((?:@[\w.-]+\/)?[\w.-]+)\/([^']+)'/g;
  for (const file of sources(join(ROOT, 'lib'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(spec)) {
      const [, name, sub] = m;
      if (name!.startsWith('.')) continue; // relative: one of ours
      found.set(name!, [...(found.get(name!) ?? []), sub!]);
    }
  }
  return found;
}

describe('packages loaded by private path', () => {
  const loaded = packagesLoadedByPrivatePath();

  test('undici is among them (the scan sees lib/observe/zbs/undici-lite.ts)', () => {
    expect(loaded.get('undici')).toEqual(expect.arrayContaining(['lib/dispatcher/agent', 'lib/api/api-request']));
  });

  test.each([...loaded.keys()])('%s is pinned to one exact version, and that version is installed', (name) => {
    const wanted = pkg.dependencies[name];
    expect(wanted).toMatch(/^\d+\.\d+\.\d+$/);
    const installed = (require(join(ROOT, 'node_modules', name, 'package.json')) as { version: string }).version;
    expect(installed).toBe(wanted);
  });
});

describe("undici's private Agent and request() still work", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('a GET through createAgent + request answers with the body', async () => {
    const agent = createAgent({ connect: { timeout: 1000 } });
    try {
      const res = await request(agent, { origin: `http://127.0.0.1:${port}`, path: '/api/x', method: 'GET' });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ method: 'GET', url: '/api/x' });
    } finally {
      await agent.close();
    }
  });
});
