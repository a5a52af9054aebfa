// Child-process driver for the jitless test: the agent's HTTP client (lib/observe/zbs/http.ts) against a local server,
// in a Node started with --jitless (no executable memory, so no WebAssembly). Prints the results as JSON.
import { createServer } from 'node:http';
import { createHttp } from '../../../lib/observe/zbs/http';

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (b: Buffer) => (body += b.toString()));
  req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body })));
});
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as { port: number };
  const http = createHttp({ scheme: 'http', port, connectTimeoutMs: 1000, maxBodyBytes: 4096 });
  const results = [
    await http.request({ ip: '127.0.0.1', method: 'GET', path: '/api/v2/zbs_session/session', timeoutMs: 2000 }),
    await http.request({ ip: '127.0.0.1', method: 'PUT', path: '/api/v2/x', json: { a: 1 }, timeoutMs: 2000 }),
  ];
  await http.close();
  server.close();
  process.stdout.write(JSON.stringify({ webAssembly: typeof (globalThis as Record<string, unknown>).WebAssembly, results }) + '\n');
});
