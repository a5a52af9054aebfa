import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDoc } from '../../lib/config/doc';

describe('docs/config.md', () => {
  it('is generated from the schema (run scripts/gen-config-doc after changing it)', () => {
    expect(readFileSync(join(__dirname, '..', '..', 'docs', 'config.md'), 'utf8')).toBe(configDoc());
  });

  it('documents every key with its default', () => {
    const doc = configDoc();
    for (const key of ['platform', 'nfsVip', 'local.dataIp', 'probe.payloadBytes', 'decide.backToNormalSec', 'paths.logLink', 'passDeadlineMs']) {
      expect(doc).toMatch(new RegExp(`\\| \`${key.replace('.', '\\.')}\` \\|`));
    }
    expect(doc).toMatch(/\| `decide.backToNormalSec` \| number \| `180` \|/);
  });
});
