// dist/reroute.js, the loader cron runs: it hands the CLI its hooks, keeps Node's compile cache beside the bundle,
// and says what to do when the bundle is missing. Runs the built loader beside a stand-in bundle.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../support/cluster';

const ROOT = join(__dirname, '..', '..');
let dir: string;

// A stand-in for dist/main.js: prints what the loader handed it.
const FAKE_MAIN = `'use strict';
exports.main = async function main(argv, hooks) {
  process.stdout.write(JSON.stringify({ args: argv.slice(2), entry: hooks.entry }) + '\\n');
};
`;

function run(...args: string[]) {
  return spawnSync(process.execPath, [join(dir, 'reroute.js'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

beforeAll(() => ensureBuilt());

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-start-'));
  copyFileSync(join(ROOT, 'dist', 'reroute.js'), join(dir, 'reroute.js'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the loader', () => {
  it('runs the bundle beside it with the command line and its own path as the entry cron should run', () => {
    writeFileSync(join(dir, 'main.js'), FAKE_MAIN);
    const r = run('loop', '--verbose');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ args: ['loop', '--verbose'], entry: join(dir, 'reroute.js') });
  });

  it("keeps Node's compile cache of the bundle in .cache beside it", () => {
    writeFileSync(join(dir, 'main.js'), FAKE_MAIN);
    expect(run('version').status).toBe(0);
    expect(readdirSync(join(dir, '.cache')).length).toBeGreaterThan(0);
  });

  it('a bundle that is missing is exit 2 with the fix', () => {
    const r = run('version');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`reroute: ${join(dir, 'main.js')} is missing: run "npm run build" (npm ci does it too)\n`);
  });
});
