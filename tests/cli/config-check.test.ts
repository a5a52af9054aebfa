// Issue 29 item 3: `reroute config check [file]`, through the built CLI: exit 0 and one line of what the file holds,
// or exit 2 and one line naming the key (or the place) and the fix, for each input the agent used to take silently
// or explain badly.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplicateKey, parseConfigJson } from '../../lib/config/json';
import { rawConfig } from '../support/config';

const BIN = join(__dirname, '..', '..', 'bin', 'reroute');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-config-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function check(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, 0o600);
  return p;
}
const good = () => rawConfig(dir) as Record<string, unknown>;
const json = (o: unknown) => JSON.stringify(o, null, 2);

describe('reroute config check', () => {
  it('a valid file: exit 0, one line of what it holds; --config and the argument both name it', () => {
    const p = file('config.json', json(good()));
    const line = `config ${p}: ok (platform linux, local SCVM 10.10.85.15, 2 other SCVMs, no API login configured; state ${join(dir, 'state.json')}, log ${join(dir, 'log', 'scvm_failure.log')})\n`;
    expect(check(['config', 'check', p])).toEqual({ status: 0, stdout: line, stderr: '' });
    expect(check(['--config', p, 'config', 'check'])).toEqual({ status: 0, stdout: line, stderr: '' });
    expect(check(['config', 'check'], { REROUTE_CONFIG: p })).toEqual({ status: 0, stdout: line, stderr: '' });
  });

  it.each([
    ['a stable period of 0', { decide: { backToNormalSec: 0 } }, 'key "decide.backToNormalSec" is 0, expected a number >= 1'],
    ['a relative state path', { paths: { state: 'state.json' } }, 'key "paths.state" is "state.json", expected an absolute path (starting with /)'],
    [
      'the same SCVM twice',
      { scvms: [{ dataIp: '10.10.85.16', manageIp: '192.168.85.16' }, { dataIp: '10.10.85.16', manageIp: '192.168.85.17' }] },
      'key "scvms.1.dataIp" is "10.10.85.16", expected an address no other SCVM has (scvms.0.dataIp has it)',
    ],
    ['an SCVM whose data IP is the VIP', { scvms: [{ dataIp: '192.168.33.2', manageIp: '192.168.85.16' }] }, 'key "scvms.0.dataIp" is "192.168.33.2", expected an address other than nfsVip'],
  ])('refuses %s: exit 2, one line naming the key', (_what, over, problem) => {
    const p = file('config.json', json({ ...good(), ...over }));
    expect(check(['config', 'check', p])).toEqual({ status: 2, stdout: '', stderr: `reroute: config ${p}: ${problem}\n` });
  });

  it('a key given twice: both lines, whichever depth', () => {
    const text = json(good()).replace('"platform": "linux",', '"platform": "linux",\n  "nfsVip": "192.168.33.2",\n  "platform": "esxi",');
    const p = file('config.json', text);
    expect(check(['config', 'check', p])).toEqual({
      status: 2,
      stdout: '',
      stderr: `reroute: config: config file ${p} gives key "platform" twice (line 2, column 3 and line 4, column 3): keep one (JSON readers keep only the last)\n`,
    });
    expect(duplicateKey('{"a": {"b": [1, {"c": 1, "d": "x\\"c", "c": 2}]}}')).toEqual({ key: 'a.b.1.c', first: 'line 1, column 18', again: 'line 1, column 39' });
    expect(duplicateKey('{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}')).toBeNull();
  });

  it('a BOM is accepted; a syntax error gives line and column, no text', () => {
    const p = file('config.json', '\uFEFF' + json(good()));
    expect(check(['config', 'check', p]).status).toBe(0);
    const broken = file('broken.json', '{\n  "local": {"dataIp": "10.10.85.15",,}\n}\n');
    expect(check(['config', 'check', broken])).toMatchObject({
      status: 2,
      stderr: `reroute: config: config file ${broken} is not valid JSON (line 2, column 37): fix the syntax\n`,
    });
    expect(parseConfigJson('\uFEFF{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('a directory as the config names it as one; an empty --config is named; an empty REROUTE_CONFIG is unset', () => {
    mkdirSync(join(dir, 'reroute'));
    expect(check(['config', 'check', join(dir, 'reroute')])).toMatchObject({
      status: 2,
      stderr: `reroute: config: cannot read config file ${join(dir, 'reroute')} (EISDIR): that is a directory: name the file in it (e.g. config.json)\n`,
    });
    const empty = check(['--config', '', 'config', 'check']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/^reroute: --config is empty: give the config file's path, or leave --config out for the default \(\/\S+\/config\.json\)\n$/);
    // unset: the platform's default, named as the file that is missing (this machine is no ESXi host)
    expect(check(['config', 'check'], { REROUTE_CONFIG: '' })).toMatchObject({
      status: 2,
      stderr: 'reroute: config: cannot read config file /etc/reroute/config.json (ENOENT): create it (see docs/config.md) or pass --config <file>\n',
    });
  });
});
