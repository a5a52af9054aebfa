// dist/reroute.js, the loader cron runs: it hands the CLI its hooks, writes the code cache only after a completed
// pass that exited 0, and says what to do when the bundle is missing. Runs the built loader beside a stand-in bundle.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../support/cluster';

const ROOT = join(__dirname, '..', '..');
let dir: string;

// A stand-in for dist/main.js: `pass` reports a completed pass, `fail` exits 1 after one, anything else just prints.
const FAKE_MAIN = `'use strict';
exports.main = async function main(argv, hooks) {
  process.stdout.write('cache ' + hooks.codeCache + '\\n');
  const cmd = argv[2];
  if (cmd === 'pass' || cmd === 'fail') hooks.passDone();
  process.exit(cmd === 'fail' ? 1 : 0);
};
`;

function run(...args: string[]) {
  return spawnSync(process.execPath, [join(dir, 'reroute.js'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

beforeAll(() => ensureBuilt());

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-start-'));
  copyFileSync(join(ROOT, 'dist', 'reroute.js'), join(dir, 'reroute.js'));
  writeFileSync(join(dir, 'main.js'), FAKE_MAIN);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the loader', () => {
  it('writes the code cache after a completed pass, and the next run uses it', () => {
    expect(run('pass').stdout).toBe('cache missing\n');
    expect(existsSync(join(dir, 'main.js.cache'))).toBe(true);
    expect(run('pass').stdout).toBe('cache used\n');
  });

  it('writes no cache for a command that is not a pass, nor for a pass that failed', () => {
    expect(run('version').stdout).toBe('cache missing\n');
    const failed = run('fail');
    expect(failed.status).toBe(1);
    expect(existsSync(join(dir, 'main.js.cache'))).toBe(false);
  });

  it('names the missing bundle and the fix, exit 2', () => {
    rmSync(join(dir, 'main.js'));
    const r = run('loop');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`reroute: ${join(dir, 'main.js')} is missing: run "npm run build" (npm ci does it too)\n`);
  });
});
