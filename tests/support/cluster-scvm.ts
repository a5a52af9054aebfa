// One simulated SCVM's processes, run inside its namespace (`ip netns exec <ns> node <bundle> ...`):
// - the NFS stand-in: a TCP service on the NFS VIP that answers this SCVM's name, so the host can prove where I/O goes;
// - the ZBS API emulator (tests/support/zbs-emulator.ts, in this process) on the SCVM's management IP;
// - a control channel on a unix socket (a file, so the test process reaches it without sending any packet from the
//   root namespace) that forwards `/_emu/...` requests to the emulator from inside this namespace.
import { createServer as createHttpServer, request } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { startZbsEmulator } from './zbs-emulator';

interface Args {
  name: string;
  nfsIp: string;
  nfsPort: number;
  apiIp: string;
  apiPort: number;
  control: string;
  /** JSON merge patch over the emulator's default state (sessions, credentials) */
  state: string;
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string): string => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (v === undefined || v === '') throw new Error(`cluster-scvm: missing ${flag} <value>`);
    return v;
  };
  return {
    name: get('--name'),
    nfsIp: get('--nfs-ip'),
    nfsPort: Number(get('--nfs-port')),
    apiIp: get('--api-ip'),
    apiPort: Number(get('--api-port')),
    control: get('--control'),
    state: get('--state'),
  };
}

function startNfsStandIn(a: Args): Promise<void> {
  const server = createTcpServer((sock) => {
    sock.on('error', () => sock.destroy());
    sock.end(`${a.name}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(a.nfsPort, a.nfsIp, () => resolve());
  });
}

/** Forward one request to the emulator from inside this namespace. */
function forward(a: Args, method: string, path: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: a.apiIp, port: a.apiPort, method, path, headers: { 'content-type': 'application/json' }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('emulator did not answer within 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

function startControl(a: Args): Promise<void> {
  if (existsSync(a.control)) unlinkSync(a.control);
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/_scvm/ping') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: a.name, pid: process.pid }));
        return;
      }
      forward(a, req.method ?? 'GET', req.url ?? '/', Buffer.concat(chunks)).then(
        (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(r.body);
        },
        (e: Error) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `emulator of ${a.name} unreachable: ${e.message}` }));
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(a.control, () => resolve());
  });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const state = JSON.parse(readFileSync(a.state, 'utf8')) as Record<string, unknown>;
  const emu = await startZbsEmulator({ host: a.apiIp, port: a.apiPort, state });
  const stop = () => void emu.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await startNfsStandIn(a);
  await startControl(a);
  process.stdout.write(`ready ${a.name}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`cluster-scvm: ${e.message}\n`);
  process.exit(1);
});
