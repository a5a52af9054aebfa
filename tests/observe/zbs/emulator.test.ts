// The emulator itself: its launcher, its control API over HTTP, liveness schedules, and request validation.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostList, startZbsEmulator, type ZbsEmulator } from '../../support/zbs-emulator';

const LAUNCHER = join(__dirname, '..', '..', '..', 'scripts', 'zbs-emulator');

async function call(url: string, method: 'GET' | 'POST' | 'PUT' = 'GET', body?: unknown, token?: string) {
  const res = await fetch(url, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: token ? { 'x-smartx-token': token } : {},
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json: json as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- each test reads its own shape
}

describe('launcher scripts/zbs-emulator', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('prints "listening on", obeys the control API over HTTP, exits 0 on SIGTERM', async () => {
    child = spawn(LAUNCHER, ['--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
    });
    const patch = await call(`${url}/_emu/state`, 'POST', {
      sessions: [{ uuid: 's-1', ip: '10.10.85.15', alive: true }],
      faults: { sessions: { status: 503, times: 1 } },
    });
    expect(patch.status).toBe(200);
    expect(patch.json.sessions).toEqual([{ uuid: 's-1', ip: '10.10.85.15', alive: true }]);
    const login = await call(`${url}/api/v3/sessions`, 'POST', { username: 'admin', password: 'secret' });
    const token = login.json.data.token as string;
    expect((await call(`${url}/api/v2/zbs_session/sessions`, 'GET', undefined, token)).status).toBe(503);
    const list = await call(`${url}/api/v2/zbs_session/sessions`, 'GET', undefined, token);
    expect(list.json.data).toEqual([expect.objectContaining({ uuid: 's-1', alive: true, alive_sec: expect.any(Number) })]);
    await call(`${url}/_emu/session/s-1`, 'POST', { alive: false });
    expect((await call(`${url}/api/v2/zbs_session/sessions`, 'GET', undefined, token)).json.data[0]).toMatchObject({
      alive: false,
      alive_sec: 0,
    });
    const records = await call(`${url}/_emu/records`);
    expect(records.json.logins).toEqual([expect.objectContaining({ status: 200, body: { username: 'admin' } })]);
    expect(records.json.sessionLists.map((r: { status: number }) => r.status)).toEqual([503, 200, 200]);
    expect(JSON.stringify(records.json)).not.toContain('secret');

    const exit = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  test('leaves no temp file behind, even when killed with -9', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'reroute-emu-tmp-'));
    try {
      child = spawn(LAUNCHER, ['--host', '127.0.0.1', '--port', '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TMPDIR: tmp },
      });
      await new Promise<void>((resolve, reject) => {
        child!.stdout!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
        child!.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      const exit = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exit;
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('a bad --port is a one-line error and exit 2', async () => {
    const c = spawn(LAUNCHER, ['--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => c.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/--port must be 0\.\.65535, got eighty/);
  });

  test('--hosts: one emulator per address on one port, each with its own state; a token from one is good at the others', async () => {
    child = spawn(LAUNCHER, ['--hosts', '127.11.0.1-3', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const urls = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n').filter(Boolean);
        if (lines.length === 3) resolve(lines.map((l) => /^listening on (http:\/\/[\d.]+:\d+)$/.exec(l)?.[1] ?? l));
      });
      child!.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
    });
    const port = new URL(urls[0]!).port;
    expect(urls).toEqual(['127.11.0.1', '127.11.0.2', '127.11.0.3'].map((h) => `http://${h}:${port}`));
    await call(`${urls[1]}/_emu/state`, 'POST', { faults: { switches: { status: 503 } } });
    const token = (await call(`${urls[0]}/api/v3/sessions`, 'POST', { username: 'admin', password: 'secret' })).json.data.token;
    const statuses = await Promise.all(urls.map((u) => call(`${u}/api/v2/reroute/config`, 'GET', undefined, token).then((r) => r.status)));
    expect(statuses).toEqual([200, 503, 200]);
    const records = await Promise.all(urls.map((u) => call(`${u}/_emu/records`).then((r) => r.json.all.length)));
    expect(records).toEqual([2, 1, 1]);
    const exit = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  test('a bad --hosts is a one-line error and exit 2', async () => {
    const c = spawn(LAUNCHER, ['--hosts', '127.11.0.9-3', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => c.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/--hosts: "127\.11\.0\.9-3" is not an IPv4 address or a range such as 127\.11\.0\.1-255/);
  });
});

describe('parseHostList (--hosts)', () => {
  test('single addresses and last-octet ranges; anything else is refused by name', () => {
    expect(parseHostList('127.11.0.1-3,127.0.0.9')).toEqual(['127.11.0.1', '127.11.0.2', '127.11.0.3', '127.0.0.9']);
    expect(parseHostList('127.11.0.1-255')).toHaveLength(255);
    for (const bad of ['127.11.0.1-256', '127.11.0.01', '127.11.0', 'localhost', '127.11.0.1-', '127.11.0.1,']) {
      expect(() => parseHostList(bad)).toThrow(/--hosts: ".*" is not an IPv4 address or a range/);
    }
    expect(() => parseHostList('127.11.0.1-3,127.11.0.2')).toThrow(/named twice/);
  });
});

describe('in-process emulator', () => {
  let emu: ZbsEmulator;
  let token: string;
  beforeEach(async () => {
    emu = await startZbsEmulator({
      state: { sessions: [{ uuid: 's-1', ip: '10.10.85.15', alive: true }, { uuid: 's-2', ip: '10.10.85.16', alive: true }] },
    });
    token = (await call(`${emu.url}/api/v3/sessions`, 'POST', { username: 'admin', password: 'secret' })).json.data.token;
  });
  afterEach(() => emu.close());

  test('tokens: wrong password 401, revoked 401, another emulator with the same secret accepts them', async () => {
    expect((await call(`${emu.url}/api/v3/sessions`, 'POST', { username: 'admin', password: 'x' })).status).toBe(401);
    const other = await startZbsEmulator({ host: '127.0.0.2' });
    try {
      expect((await call(`${other.url}/api/v2/reroute/config`, 'GET', undefined, token)).status).toBe(200);
      other.revokeTokens();
      expect((await call(`${other.url}/api/v2/reroute/config`, 'GET', undefined, token)).status).toBe(401);
    } finally {
      await other.close();
    }
    expect((await call(`${emu.url}/api/v2/reroute/config`, 'GET', undefined, 'forged')).status).toBe(401);
    emu.patch({ tokenLifetimeSec: 0 });
    const shortLived = (await call(`${emu.url}/api/v3/sessions`, 'POST', { username: 'admin', password: 'secret' })).json.data.token;
    expect((await call(`${emu.url}/api/v2/reroute/config`, 'GET', undefined, shortLived)).status).toBe(401);
  });

  test('flapping: alive toggles every flapPeriodSec; missing sessions leave the list', () => {
    emu.patchSession('s-1', { flapPeriodSec: 10, flapStart: 0 });
    const s = emu.state.sessions[0]!;
    expect([0, 9_999, 10_000, 19_999, 20_000].map((t) => emu.aliveAt(s, t))).toEqual([true, true, false, false, true]);
    emu.patchSession('s-2', { missing: true });
    return call(`${emu.url}/api/v2/zbs_session/sessions`, 'GET', undefined, token).then((r) => {
      expect(r.json.data.map((x: { uuid: string }) => x.uuid)).toEqual(['s-1']);
    });
  });

  test('refresh validates the path id and the body; heartbeat validates its exact fields', async () => {
    const put = (id: string, body: unknown) =>
      call(`${emu.url}/api/v2/zbs_session/session/${id}`, 'PUT', body, token).then((r) => r.status);
    expect(await put('s-1', { local_clients_ips: '1.2.3.4,5.6.7.8' })).toBe(200);
    expect(await put('nope', { local_clients_ips: '1.2.3.4' })).toBe(404);
    expect(await put('s-1', { local_clients_ips: '1.2.3.4 ' })).toBe(400);
    expect(await put('s-1', { local_clients_ips: '1.2.3.4', extra: 1 })).toBe(400);
    expect(emu.records.refreshes.map((r) => r.sessionId)).toEqual(['s-1', 'nope', 's-1', 's-1']);
    const hb = { hypervisor_ip: '1.1.1.1', local_scvm_data_ip: '2.2.2.2', local_scvm_manage_ip: '3.3.3.3', nfs_target_ip: '2.2.2.2', ttl: 9 };
    const post = (body: unknown) => call(`${emu.url}/api/v2/reroute/heartbeat`, 'POST', body, token).then((r) => r.status);
    expect(await post(hb)).toBe(200);
    expect(await post({ ...hb, ttl: '9' })).toBe(400);
    expect(await post({ ...hb, extra: true })).toBe(400);
    const { nfs_target_ip: _drop, ...missing } = hb;
    expect(await post(missing)).toBe(400);
  });

  test('raw fields and liveness-field variants serve what a test asks for', async () => {
    emu.patchSession('s-1', { raw: { alive: 'yes' } });
    emu.patch({ livenessFields: 'alive_sec' });
    const r = await call(`${emu.url}/api/v2/zbs_session/sessions`, 'GET', undefined, token);
    expect(r.json.data[0]).toMatchObject({ alive: 'yes', alive_sec: expect.any(Number) });
    expect(r.json.data[1]).not.toHaveProperty('alive');
  });
});
