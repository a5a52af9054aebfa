// The NFS data-path check (issue 15 case 5) against real sockets on loopback. A path that drops the connection (no
// answer until the deadline) is the cluster's nfs-down fault: tests/e2e/nfs-down.test.ts.
import { createServer, type Server } from 'node:net';
import { checkNfs, nfsCheckFromError } from '../../lib/observe/nfs';

const listen = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });

describe('issue 15 case 5: the NFS data-path check', () => {
  it('a service that accepts the connection is ok', async () => {
    const { server, port } = await listen();
    try {
      const r = await checkNfs({ vip: '127.0.0.1', port, timeoutMs: 5000 });
      expect(r).toEqual({ result: 'ok', ms: expect.any(Number) });
    } finally {
      server.close();
    }
  });

  it('a refused connection (nothing listens on the port) is failed, named as such', async () => {
    const { server, port } = await listen();
    await new Promise((r) => server.close(r));
    expect(await checkNfs({ vip: '127.0.0.1', port, timeoutMs: 5000 })).toEqual({
      result: 'failed',
      why: `127.0.0.1:${port} refused the connection (nothing accepts NFS there)`,
    });
  });

  it('a check that cannot be made from this host is unknown, never failed', () => {
    const o = { vip: '192.168.33.2', port: 2049, timeoutMs: 2000 };
    const err = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
    for (const code of ['EPERM', 'EACCES', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'EMFILE', 'ESOMETHINGNEW']) {
      expect(nfsCheckFromError(err(code), o)).toMatchObject({ result: 'unknown', why: expect.stringContaining(code) });
    }
    expect(nfsCheckFromError(err('ECONNRESET'), o)).toMatchObject({ result: 'failed' });
    expect(nfsCheckFromError(err('ETIMEDOUT'), o)).toMatchObject({ result: 'failed' });
  });
});
