// The bounded HTTP helper against real servers: connections kept within a pass, body cap, JSON, precise timeouts.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createHttp, type Http } from '../../../lib/observe/zbs/http';
import { bundleForChild, describeNetns, NetnsLab } from '../../support/netns';

let server: Server;
let port: number;
let connections = 0;
let http: Http;
let handler: (url: string, res: import('node:http').ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => handler(req.url ?? '/', res));
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  connections = 0;
  http = createHttp({ scheme: 'http', port, connectTimeoutMs: 500, maxBodyBytes: 1024 });
});
afterEach(() => http.close());

const get = (path = '/', timeoutMs = 1000) => http.request({ ip: '127.0.0.1', method: 'GET', path, timeoutMs });

test('JSON answers are parsed; an empty 2xx is null; other statuses carry no body', async () => {
  handler = (url, res) => {
    if (url === '/json') res.end('{"a":[1,2]}');
    else if (url === '/empty') res.end('');
    else {
      res.statusCode = 503;
      res.end('{"ec":"EBUSY"}');
    }
  };
  expect(await get('/json')).toEqual({ ok: true, status: 200, body: { a: [1, 2] } });
  expect(await get('/empty')).toEqual({ ok: true, status: 200, body: null });
  expect(await get('/busy')).toEqual({ ok: true, status: 503, body: undefined });
});

test('a connection is reused within a pass, but not after dropConnections (a route switch)', async () => {
  handler = (_url, res) => res.end('{}');
  // As in a pass, where the heartbeat follows the session list by the sweep: a keep-alive socket goes back to the pool
  // once its answer is read, an event-loop turn after the first answer.
  const getLater = async () => {
    await new Promise((r) => setImmediate(r));
    return get();
  };
  for (let i = 0; i < 3; i++) expect((await getLater()).ok).toBe(true);
  expect(connections).toBe(1);
  http.dropConnections();
  for (let i = 0; i < 2; i++) expect((await getLater()).ok).toBe(true);
  expect(connections).toBe(2);
});

test('a body past maxBodyBytes is refused, declared or streamed', async () => {
  handler = (url, res) => {
    if (url === '/declared') res.end(JSON.stringify('x'.repeat(4000)));
    else {
      res.write('[');
      for (let i = 0; i < 100; i++) res.write('"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",');
      res.end('0]');
    }
  };
  expect(await get('/declared')).toEqual({ ok: false, reason: expect.stringMatching(/answer of 4002 bytes is larger than api\.maxBodyBytes \(1024\)/) });
  expect(await get('/streamed')).toEqual({ ok: false, reason: expect.stringMatching(/answer larger than api\.maxBodyBytes \(1024 bytes\)/) });
});

test('garbage is not JSON; the reason names the request, not the body', async () => {
  handler = (_url, res) => res.end('<html>oops');
  expect(await get('/x')).toEqual({ ok: false, reason: 'GET http://127.0.0.1:' + port + '/x: HTTP 200 answer is not JSON (10 bytes)' });
});

test('a slow body is cut at the total timeout, precisely', async () => {
  handler = (_url, res) => {
    res.write('[');
    const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('1,')), 50);
    res.on('close', () => clearInterval(t));
  };
  const started = performance.now();
  expect(await get('/', 300)).toEqual({ ok: false, reason: expect.stringMatching(/no complete answer within 300 ms/) });
  const took = performance.now() - started;
  expect(took).toBeGreaterThanOrEqual(295);
  expect(took).toBeLessThan(5000); // the body would trickle on for ever
});

test('an outside abort (a racer won) is reported as abandoned', async () => {
  handler = () => undefined;
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(new Error('127.0.0.2 answered first')), 30);
  const r = await http.request({ ip: '127.0.0.1', method: 'GET', path: '/', timeoutMs: 1000, signal: ctl.signal });
  expect(r).toEqual({ ok: false, reason: expect.stringMatching(/abandoned \(127\.0\.0\.2 answered first\)/) });
});

test('after close() requests fail without throwing', async () => {
  await http.close();
  expect(await get()).toEqual({ ok: false, reason: expect.stringMatching(/client already closed/) });
});

describeNetns('connect timeout where SYNs are dropped', () => {
  const lab = new NetnsLab('zbsh');
  afterAll(() => lab.teardown());

  test('the connect timeout fires on time (our own timer, to the millisecond)', () => {
    const ns = lab.addNamespace('drop');
    lab.exec(ns, ['nft', '-f', '-'], {
      input: 'table inet t {\n chain in {\n  type filter hook input priority 0;\n  tcp dport 8080 drop\n }\n}\n',
    });
    const dir = mkdtempSync(join(tmpdir(), 'zbs-http-'));
    const entry = join(dir, 'child.ts');
    writeFileSync(
      entry,
      `import { createHttp } from '${join(__dirname, '../../../lib/observe/zbs/http')}';
       (async () => {
         const h = createHttp({ scheme: 'http', port: 8080, connectTimeoutMs: 200, maxBodyBytes: 1024 });
         const t = performance.now();
         const r = await h.request({ ip: '127.0.0.1', method: 'GET', path: '/', timeoutMs: 3000 });
         await h.close();
         process.stdout.write(JSON.stringify({ r, ms: performance.now() - t }));
       })();`,
    );
    const js = bundleForChild(relative(join(__dirname, '../../..'), entry));
    const out = lab.exec(ns, [process.execPath, js], { timeoutMs: 10_000 });
    const { r, ms } = JSON.parse(out) as { r: { ok: boolean; reason: string }; ms: number };
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/no TCP connection within 200 ms/) });
    expect(ms).toBeGreaterThanOrEqual(195);
    expect(ms).toBeLessThan(3000); // the connect timeout fired, not the 3 s total timeout
  });
});
