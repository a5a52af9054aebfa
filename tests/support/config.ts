// Builders for configs used by tests. Lab addresses appear here only as data; nothing is sent to them from here.
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../lib/config/schema';

/** A minimal valid raw config (before defaults), with every path inside `dir`. */
export function rawConfig(dir: string, over: Partial<ConfigInput> = {}): ConfigInput {
  return {
    platform: 'linux',
    local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
    scvms: [
      { dataIp: '10.10.85.16', manageIp: '192.168.85.16' },
      { dataIp: '10.10.85.17', manageIp: '192.168.85.17' },
    ],
    paths: {
      state: join(dir, 'state.json'),
      record: join(dir, 'run', 'record.json'),
      lock: join(dir, 'run', 'reroute.lock'),
      log: join(dir, 'log', 'scvm_failure.log'),
      logLink: join(dir, 'var-log', 'scvm_failure.log'),
    },
    // these addresses are data, never contacted: the NFS data-path check would connect to the VIP
    nfsCheck: { enabled: false },
    ...over,
  };
}

/** A temp dir holding config.json (mode 0600); returns both paths. */
export function writeConfig(over: Partial<ConfigInput> | ((dir: string) => unknown) = {}): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-test-'));
  const path = join(dir, 'config.json');
  const body = typeof over === 'function' ? over(dir) : rawConfig(dir, over);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  chmodSync(path, 0o600);
  return { dir, path };
}
