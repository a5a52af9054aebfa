// Smoke test of the built bundle as cron runs it: dist/ copied away from the repository (so nothing can be found in
// the repo's node_modules), then `version`, `simulate` and `probe` through the loader dist/reroute.js. jest runs lib/
// unbundled; this is what covers scripts/build.mjs (its replaced built-ins, the shipped raw-socket addon).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNetns, NetnsLab } from '../support/netns';

const ROOT = join(__dirname, '..', '..');
const VERSION = (require('../../package.json') as { version: string }).version;
let dist: string;

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), 'reroute-dist-'));
  cpSync(join(ROOT, 'dist'), dist, { recursive: true });
});
afterAll(() => rmSync(dist, { recursive: true, force: true }));

const NO_CONFIG = { REROUTE_CONFIG: '/nonexistent/reroute/config.json' };

function bundled(args: string[], wrap: string[] = []) {
  const argv = [...wrap, process.execPath, join(dist, 'reroute.js'), ...args];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: process.env.PATH, ...NO_CONFIG }, timeout: 30_000 });
}

describe('the built bundle, away from the repository', () => {
  it('version', () => {
    const r = bundled(['version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${VERSION}\n`);
  });

  it('simulate a timeline', () => {
    const r = bundled(['simulate', '--json', join(ROOT, 'examples', 'timelines', 'scvm-crash.json')]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'scvm-crash', switches: [expect.anything(), expect.anything()] });
  });
});

describeNetns('the built bundle probes through its shipped raw-socket addon', () => {
  const lab = new NetnsLab('bndl');
  let ns: string;
  beforeAll(() => {
    ns = lab.addNamespace('host');
  });
  afterAll(() => lab.teardown());

  it('probe 127.0.0.1 inside a namespace: reachable', () => {
    const r = bundled(['probe', '--json', '127.0.0.1'], ['ip', 'netns', 'exec', ns]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { results: { ip: string; reachable: boolean; received: number }[] };
    expect(out.results).toEqual([expect.objectContaining({ ip: '127.0.0.1', reachable: true })]);
  });
});
