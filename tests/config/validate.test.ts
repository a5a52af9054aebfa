import { validateConfig } from '../../lib/config/validate';
import { rawConfig } from '../support/config';

const base = () => rawConfig('/tmp/x') as Record<string, unknown>;

function problems(raw: unknown): string[] {
  const r = validateConfig(raw, 'esxi');
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('validateConfig', () => {
  it('fills every default', () => {
    const r = validateConfig(base(), 'esxi');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.nfsVip).toBe('192.168.33.2');
    expect(r.config.decide.backToNormalSec).toBe(180);
    expect(r.config.passDeadlineMs).toBe(10_000);
    expect(r.config.probe.payloadBytes).toBe(16);
    expect(r.config.heartbeatTtl).toBe(9);
  });

  it('names an unknown key and how to fix it', () => {
    expect(problems({ ...base(), platfrom: 'esxi' })).toEqual([
      'unknown key "platfrom": remove it or check its spelling (see docs/config.md)',
    ]);
    expect(problems({ ...base(), probe: { cout: 3 } })[0]).toMatch(/unknown key "probe.cout"/);
  });

  it('names a wrong type with the value and what is expected', () => {
    expect(problems({ ...base(), passDeadlineMs: '10s' })).toEqual([
      'key "passDeadlineMs" is "10s", expected a number',
    ]);
  });

  it('refuses a bad IPv4 address', () => {
    const p = problems({ ...base(), local: { dataIp: '10.10.85.256', manageIp: '192.168.85.15' } });
    expect(p).toEqual(['key "local.dataIp" is "10.10.85.256", expected a dotted-quad IPv4 address such as 10.10.85.15']);
    expect(problems({ ...base(), nfsVip: '192.168.33.2 via 1.2.3.4' })[0]).toMatch(/key "nfsVip"/);
  });

  it('refuses a missing required key', () => {
    const raw = base();
    delete raw.local;
    expect(problems(raw)).toEqual(['key "local" is nothing, expected an object (the key is required)']);
  });

  it('refuses a bad platform with the allowed values', () => {
    expect(problems({ ...base(), platform: 'kvm' })).toEqual([
      'key "platform" is "kvm", expected one of "auto", "esxi", "xen", "linux"',
    ]);
  });

  it('refuses a payload whose packet exceeds the MTU', () => {
    expect(problems({ ...base(), probe: { payloadBytes: 1480, mtu: 1500 } })).toEqual([
      'key "probe.payloadBytes" is 1480, expected a payload of at most 1472 bytes (20 IP + 8 ICMP + payload must fit probe.mtu 1500)',
    ]);
    expect(validateConfig({ ...base(), probe: { payloadBytes: 1472, mtu: 1500 } }, 'esxi').ok).toBe(true);
  });

  it('refuses impossible combinations', () => {
    expect(problems({ ...base(), probe: { count: 2, minReplies: 3 } })[0]).toMatch(/probe.minReplies.*at most probe.count/);
    expect(problems({ ...base(), passDeadlineMs: 1500 })[0]).toMatch(/probe.timeoutMs.*less than passDeadlineMs/);
    expect(problems({ ...base(), api: { username: 'admin' } })[0]).toMatch(/api.password/);
    // the NFS data-path check's deadline must fit the pass, once the check is on
    const short = { ...base(), passDeadlineMs: 3000, probe: { timeoutMs: 1000 }, api: { budgetMs: 2000 } };
    expect(validateConfig(short, 'esxi').ok).toBe(true);
    expect(problems({ ...short, nfsCheck: { enabled: true, timeoutMs: 3000 } })).toEqual([
      'key "nfsCheck.timeoutMs" is 3000, expected less than passDeadlineMs (3000)',
    ]);
    expect(problems({ ...base(), api: { hedgeFloorMs: 500, hedgeCeilingMs: 400 } })).toEqual([
      'key "api.hedgeCeilingMs" is 400, expected at least api.hedgeFloorMs (500)',
    ]);
  });

  it('still loads a config that sets api.staggerMs (no longer used since the bounded race)', () => {
    expect(validateConfig({ ...base(), api: { staggerMs: 150 } }, 'esxi').ok).toBe(true);
  });

  it('collects every problem, not just the first', () => {
    const p = problems({ ...base(), platform: 'kvm', nfsVip: 'x', extra: 1 });
    expect(p).toHaveLength(3);
  });

  it('refuses a file that is not an object', () => {
    expect(problems([1, 2])).toEqual(['the file holds array, expected a JSON object']);
  });
});

describe('issue 29: what was accepted silently is refused, naming the key', () => {
  it('a stable period of 0 (the route would go back the moment the local SCVM answers)', () => {
    expect(problems({ ...base(), decide: { backToNormalSec: 0 } })).toEqual(['key "decide.backToNormalSec" is 0, expected a number >= 1']);
  });

  it('a relative path: cron runs the agent from any directory', () => {
    expect(problems({ ...base(), paths: { state: 'state.json' } })).toEqual(['key "paths.state" is "state.json", expected an absolute path (starting with /)']);
    expect(problems({ ...base(), api: { credentialsFile: 'creds.json' } })).toEqual([
      'key "api.credentialsFile" is "creds.json", expected an absolute path (starting with /)',
    ]);
  });

  it('the same SCVM twice, and an SCVM whose address is the VIP', () => {
    const scvm = { dataIp: '10.10.85.16', manageIp: '192.168.85.16' };
    expect(problems({ ...base(), scvms: [scvm, scvm] })).toEqual([
      'key "scvms.1.dataIp" is "10.10.85.16", expected an address no other SCVM has (scvms.0.dataIp has it)',
      'key "scvms.1.manageIp" is "192.168.85.16", expected an address no other SCVM has (scvms.0.manageIp has it)',
    ]);
    expect(problems({ ...base(), scvms: [scvm, { dataIp: '10.10.85.17', manageIp: '192.168.85.16' }] })).toEqual([
      'key "scvms.1.manageIp" is "192.168.85.16", expected an address no other SCVM has (scvms.0.manageIp has it)',
    ]);
    expect(problems({ ...base(), scvms: [{ dataIp: '192.168.33.2', manageIp: '192.168.85.16' }] })).toEqual([
      'key "scvms.0.dataIp" is "192.168.33.2", expected an address other than nfsVip',
    ]);
    // the local SCVM in the list with its own addresses is fine; with another management IP it is not
    const local = { dataIp: '10.10.85.15', manageIp: '192.168.85.15' };
    expect(validateConfig({ ...base(), scvms: [local, scvm] }, 'esxi').ok).toBe(true);
    expect(problems({ ...base(), scvms: [{ ...local, manageIp: '192.168.85.99' }] })).toEqual([
      'key "scvms.0.dataIp" is "10.10.85.15", expected an address no other SCVM has (local.dataIp has it)',
    ]);
  });
});
