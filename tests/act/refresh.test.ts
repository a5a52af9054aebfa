// Session refresh against loopback emulators: exact path and body, fallback order, hostile values stopped early.
import { initialApiCache } from '../../lib/observe/zbs/cache';
import { createZbsClient, type ZbsClient } from '../../lib/observe/zbs/client';
import { refreshPathFor, refreshSession } from '../../lib/act/refresh';
import type { ZbsSession } from '../../lib/types';
import { recordingLog } from '../support/log';
import { CREDENTIALS, scvm, startLab, type Lab } from '../observe/zbs/lab';

let lab: Lab;
let client: ZbsClient;
const log = recordingLog();

const target = (i: number): ZbsSession => ({
  sessionId: scvm(i).uuid,
  dataIp: scvm(i).dataIp,
  manageIp: scvm(i).manageIp,
  zone: 'default',
  alive: true,
  aliveSec: 10,
});

beforeEach(async () => {
  lab = await startLab(3);
  client = createZbsClient({ config: lab.config, credentials: CREDENTIALS, log, cache: initialApiCache(), now: Date.now });
});
afterEach(async () => {
  await client.close();
  await lab.close();
});

const deps = () => ({ client, config: lab.config, log });
const allRefreshes = () => lab.emus.flatMap((e) => e.records.refreshes);

test('PUT to the target SCVM with the session id in the path and exactly {"local_clients_ips": "a,b"}', async () => {
  const r = await refreshSession(deps(), { target: target(1), hostIps: ['192.168.77.36', '10.97.60.235'] });
  expect(r).toEqual({ ok: true, via: scvm(1).manageIp });
  const recs = lab.emus[1]!.records.refreshes;
  expect(recs).toHaveLength(1);
  expect(recs[0]).toMatchObject({
    method: 'PUT',
    path: `/api/v2/zbs_session/session/${scvm(1).uuid}`,
    status: 200,
    rawBody: '{"local_clients_ips":"192.168.77.36,10.97.60.235"}',
  });
  expect(lab.emus[0]!.records.refreshes).toHaveLength(0);
});

test('the NFS-side address and duplicates are left out', async () => {
  const hostIps = ['192.168.33.1', '192.168.77.36', '192.168.77.36', '10.97.60.235'];
  expect((await refreshSession(deps(), { target: target(0), hostIps })).ok).toBe(true);
  expect(allRefreshes()[0]!.rawBody).toBe('{"local_clients_ips":"192.168.77.36,10.97.60.235"}');
});

test("the target's API is down: the next SCVM takes the refresh", async () => {
  await lab.emus[2]!.close();
  const r = await refreshSession(deps(), { target: target(2), hostIps: ['192.168.77.36'] });
  expect(r).toEqual({ ok: true, via: scvm(0).manageIp });
  expect(lab.emus[0]!.records.refreshes[0]!.path).toBe(`/api/v2/zbs_session/session/${scvm(2).uuid}`);
});

test('refused everywhere (HTTP 500): {ok:false} naming each SCVM, nothing thrown', async () => {
  lab.emus.forEach((e) => e.patch({ faults: { refresh: { status: 500 } } }));
  const r = await refreshSession(deps(), { target: target(0), hostIps: ['192.168.77.36'] });
  expect(r).toEqual({ ok: false, reason: expect.stringMatching(/127\.0\.0\.1: HTTP 500.*127\.0\.0\.2: HTTP 500.*127\.0\.0\.3: HTTP 500/) });
  expect(allRefreshes()).toHaveLength(3);
});

test.each([
  ['a session id with path characters', { sessionId: '../../api/v3/x' }, ['192.168.77.36'], /session id is missing or unsafe/],
  ['an empty session id', { sessionId: '' }, ['192.168.77.36'], /session id is missing or unsafe/],
  ['a host IP with a route suffix', {}, ['192.168.77.36', '10.0.0.1 via 1.2.3.4'], /host IP "10\.0\.0\.1 via 1\.2\.3\.4" is not a dotted-quad/],
  ['an option as a host IP', {}, ['-d'], /host IP "-d"/],
  ['only the NFS-side address', {}, ['192.168.33.1'], /no host IP to report/],
])('%s is refused before any request', async (_name, over, hostIps, why) => {
  const r = await refreshSession(deps(), { target: { ...target(1), ...over }, hostIps });
  expect(r).toEqual({ ok: false, reason: expect.stringMatching(why) });
  expect(lab.emus.flatMap((e) => e.records.all)).toHaveLength(0);
  expect(log.messages('warn').at(-1)).toMatch(/session refresh not done/);
});

test('refreshPathFor needs {session_id} exactly once in api.refreshPath', () => {
  expect(refreshPathFor('/api/v2/zbs_session/session/{session_id}', 'abc-1')).toEqual({
    ok: true,
    path: '/api/v2/zbs_session/session/abc-1',
  });
  expect(refreshPathFor('/api/v2/zbs_session/session/', 'abc')).toMatchObject({ ok: false });
  expect(refreshPathFor('/{session_id}/{session_id}', 'abc')).toMatchObject({ ok: false });
  expect(refreshPathFor('/s/{session_id}', undefined)).toMatchObject({ ok: false });
});
