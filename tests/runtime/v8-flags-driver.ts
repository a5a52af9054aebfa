// Child-process driver for the V8 flags test: tunes V8 as every agent process does (lib/runtime/v8-flags.ts), or not
// with argv[2] = "untuned", then sends the agent's HTTP requests (undici, through lib/observe/zbs/undici-lite.ts) to a
// local server until undici's WebAssembly parser is hot, and prints what V8 allocated outside its heap at the most and
// how many answers came back whole.
import { createServer } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { tuneV8ForShortRun } from '../../lib/runtime/v8-flags';
import { createAgent, request } from '../../lib/observe/zbs/undici-lite';

if (process.argv[2] !== 'untuned') tuneV8ForShortRun();
const body = JSON.stringify({ data: Array.from({ length: 400 }, (_, i) => ({ id: i, ip: `10.0.${i >> 8}.${i & 255}`, alive: true })) });
const server = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(body);
});
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as { port: number };
  const agent = createAgent({ connections: 1 });
  let whole = 0;
  for (let i = 0; i < 300; i++) {
    const r = await request(agent, { origin: `http://127.0.0.1:${port}`, path: '/api/v2/sessions', method: 'GET' });
    if ((await r.body.text()) === body) whole++;
  }
  await agent.close();
  server.close();
  // background compiles that a hot function started finish in the meantime
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ whole, peakMallocMb: getHeapStatistics().peak_malloced_memory / 1048576 })}\n`);
  }, 500);
});
