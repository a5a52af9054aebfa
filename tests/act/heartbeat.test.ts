// Heartbeat against loopback emulators: exact body to the target's manage IP, missing values refused.
import { initialApiCache } from '../../lib/observe/zbs/cache';
import { createZbsClient, type ZbsClient } from '../../lib/observe/zbs/client';
import { sendHeartbeat } from '../../lib/act/heartbeat';
import { recordingLog } from '../support/log';
import { CREDENTIALS, labConfig, scvm, startLab, type Lab } from '../observe/zbs/lab';

let lab: Lab;
let client: ZbsClient;
const log = recordingLog();

beforeEach(async () => {
  lab = await startLab(2);
  client = createZbsClient({ config: lab.config, credentials: CREDENTIALS, log, cache: initialApiCache(), now: Date.now });
});
afterEach(async () => {
  await client.close();
  await lab.close();
});

test('POST to the current target with exactly the five fields, ttl from the config', async () => {
  const config = labConfig(2, lab.port, { heartbeatTtl: 7 });
  const r = await sendHeartbeat(
    { client, config, log },
    { targetManageIp: scvm(1).manageIp, nfsTargetIp: scvm(1).dataIp, hypervisorIp: '192.168.85.11' },
  );
  expect(r).toEqual({ ok: true, via: scvm(1).manageIp });
  const hb = lab.emus[1]!.records.heartbeats;
  expect(hb).toHaveLength(1);
  expect(hb[0]!.path).toBe('/api/v2/reroute/heartbeat');
  expect(hb[0]!.status).toBe(200);
  expect(JSON.parse(hb[0]!.rawBody!)).toEqual({
    hypervisor_ip: '192.168.85.11',
    local_scvm_data_ip: scvm(0).dataIp,
    local_scvm_manage_ip: scvm(0).manageIp,
    nfs_target_ip: scvm(1).dataIp,
    ttl: 7,
  });
  expect(lab.emus[0]!.records.heartbeats).toHaveLength(0);
});

test('the target is down: {ok:false} with the reason, no other SCVM is told', async () => {
  await lab.emus[1]!.close();
  const r = await sendHeartbeat(
    { client, config: lab.config, log },
    { targetManageIp: scvm(1).manageIp, nfsTargetIp: scvm(1).dataIp, hypervisorIp: '192.168.85.11' },
  );
  expect(r).toEqual({ ok: false, reason: expect.stringMatching(/connection refused/) });
  expect(lab.emus[0]!.records.heartbeats).toHaveLength(0);
});

test.each([
  ['no hypervisor IP', { hypervisorIp: null }, /valid hypervisor_ip/],
  ['a hostile next hop', { nfsTargetIp: '10.0.0.1 via 1.2.3.4' }, /valid nfs_target_ip/],
  ['no target manage IP', { targetManageIp: null }, /no known manage IP/],
])('%s: refused before any request', async (_name, over, why) => {
  const r = await sendHeartbeat(
    { client, config: lab.config, log },
    { targetManageIp: scvm(1).manageIp, nfsTargetIp: scvm(1).dataIp, hypervisorIp: '192.168.85.11', ...over },
  );
  expect(r).toEqual({ ok: false, reason: expect.stringMatching(why) });
  expect(lab.emus.flatMap((e) => e.records.all)).toHaveLength(0);
});

// A pin's audit fields ride on the heartbeat while the pin decides; an SCVM that takes only the five documented keys
// gets them alone, at once and from then on in this process. (These two run in this order: the refusal is remembered.)
const pinned = { targetManageIp: scvm(1).manageIp, nfsTargetIp: scvm(1).dataIp, hypervisorIp: '192.168.85.11' };
const pin = { by: 'alice', from: '10.0.0.9', reason: 'SCVM-1 disk swap CHG-77', force: false };

test('a pin: who, from where and why go beside the five keys to an SCVM that takes them', async () => {
  lab.emus[1]!.state.heartbeatPinFields = true;
  const r = await sendHeartbeat({ client, config: lab.config, log }, { ...pinned, pin });
  expect(r).toEqual({ ok: true, via: scvm(1).manageIp });
  const hb = lab.emus[1]!.records.heartbeats;
  expect(hb.map((h) => h.status)).toEqual([200]);
  expect(JSON.parse(hb[0]!.rawBody!)).toMatchObject({ pin_by: 'alice', pin_from: '10.0.0.9', pin_reason: 'SCVM-1 disk swap CHG-77', pin_forced: 'false' });
});

test('an SCVM that refuses the pin fields (400) gets the five keys at once, and only those afterwards', async () => {
  const r = await sendHeartbeat({ client, config: lab.config, log }, { ...pinned, pin });
  expect(r).toEqual({ ok: true, via: scvm(1).manageIp });
  const hb = lab.emus[1]!.records.heartbeats;
  expect(hb.map((h) => h.status)).toEqual([400, 200]);
  expect(Object.keys(JSON.parse(hb[1]!.rawBody!)).sort()).toEqual(['hypervisor_ip', 'local_scvm_data_ip', 'local_scvm_manage_ip', 'nfs_target_ip', 'ttl']);
  expect(log.messages('warn').join('\n')).toMatch(/refused the pin's audit fields/);
  await sendHeartbeat({ client, config: lab.config, log }, { ...pinned, pin });
  expect(lab.emus[1]!.records.heartbeats.map((h) => h.status)).toEqual([400, 200, 200]);
});
