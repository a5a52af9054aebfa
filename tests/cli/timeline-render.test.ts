// Issue 31: the timeline picture as a reader sees it, rendered by headless Chromium (tests/support/svg-in-chromium.ts):
// `reroute simulate --svg` of every example timeline, and `reroute timeline` from an event store and, after a reboot,
// from the persistent copy alone. Each: one lane per SCVM, one mark per switch and pin, every text drawn and inside
// the viewBox, no two labels on each other. CPU heavy (a browser): run it alone (no other heavy test or benchmark at the same time). The PNGs are left in
// $TMPDIR/reroute-timeline-png for a person to look at.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTimeline } from '../../lib/decide/timeline';
import { append, emptyStore, EVENTS_VERSION, type AgentEvent, type NewEvent } from '../../lib/state/events';
import { writeConfig } from '../support/config';
import { readabilityFaults, renderSvgFiles, type Rendered } from '../support/svg-in-chromium';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'reroute');
const EXAMPLES = join(ROOT, 'examples', 'timelines');
const PNG = join(tmpdir(), 'reroute-timeline-png');
mkdirSync(PNG, { recursive: true });

function cli(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`reroute ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Render one SVG text (and leave its PNG in PNG/name.png). */
async function render(svg: string, name: string): Promise<Rendered> {
  const file = join(PNG, `${name}.svg`);
  writeFileSync(file, svg);
  return (await renderSvgFiles([{ svg: file, png: join(PNG, `${name}.png`) }]))[0]!;
}

describe('reroute simulate --svg, every example timeline', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  const drawn = new Map<string, Rendered>();
  beforeAll(async () => {
    const svgs = files.map((f) => join(PNG, f.replace(/\.json$/, '.svg')));
    files.forEach((f, i) => cli(['simulate', join(EXAMPLES, f), '--svg', svgs[i]!]));
    const rendered = await renderSvgFiles(svgs.map((svg) => ({ svg, png: svg.replace(/\.svg$/, '.png') })));
    files.forEach((f, i) => drawn.set(f, rendered[i]!));
  });
  test('there are examples', () => expect(files.length).toBeGreaterThanOrEqual(10));

  test.each(files)('%s', (file) => {
    const path = join(EXAMPLES, file);
    const parsed = parseTimeline(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const { config } = parsed;
    const report = JSON.parse(cli(['simulate', path, '--json']).stdout) as {
      switches: unknown[];
      pins: { kind: string; target?: string }[];
    };
    // the pins that change something: set, removed (when there was one), cleared by the agent; a refusal is none
    const pinChanges = report.pins.filter((p) => p.kind !== 'refused' && p.target !== undefined).length;

    const r = drawn.get(file)!;
    expect(r.lanes).toEqual([config.local.dataIp, ...config.scvms.map((s) => s.dataIp)].filter((ip, i, a) => a.indexOf(ip) === i));
    expect(r.marks.filter((m) => m.kind === 'switch')).toHaveLength(report.switches.length);
    expect(r.marks.filter((m) => m.kind !== 'switch')).toHaveLength(pinChanges);
    expect(r.labels).toHaveLength(r.marks.length);
    expect(readabilityFaults(r)).toEqual([]);
    // every lane has both checks drawn across the whole run
    for (const ip of r.lanes) for (const check of ['icmp', 'session']) expect(r.segs.filter((s) => s.scvm === ip && s.check === check).length).toBeGreaterThan(0);
  });
});

describe('reroute timeline', () => {
  const now = Date.now();
  const at = (minAgo: number) => now - minAgo * 60_000;
  const crash: NewEvent[] = [
    { at: at(30), kind: 'scvm', ip: '10.10.85.15', check: 'icmp', was: 'up', now: 'down' },
    { at: at(30), kind: 'switch', from: '10.10.85.15', to: '10.10.85.16', reason: 'local-icmp-down', because: 'local SCVM 10.10.85.15 does not answer ping', ok: true },
    { at: at(30) + 50, kind: 'local-down', ip: '10.10.85.15', status: 'icmp-down' },
    { at: at(29.9), kind: 'scvm', ip: '10.10.85.15', check: 'session', was: 'alive', now: 'missing' },
    { at: at(25), kind: 'pin-set', target: '10.10.85.17', until: null, force: false, who: 'operator' },
    { at: at(25) + 800, kind: 'switch', from: '10.10.85.16', to: '10.10.85.17', reason: 'pinned', because: 'pinned by an operator', ok: true },
    { at: at(20), kind: 'scvm', ip: '10.10.85.15', check: 'icmp', was: 'down', now: 'up' },
    { at: at(20), kind: 'scvm', ip: '10.10.85.15', check: 'session', was: 'missing', now: 'alive' },
    { at: at(12), kind: 'pin-cleared', target: '10.10.85.17', who: 'operator', why: 'route --auto or a new pin' },
    { at: at(12) + 900, kind: 'switch', from: '10.10.85.17', to: '10.10.85.15', reason: 'local-stable', because: 'local SCVM healthy for 180 s', ok: true },
  ];
  const lasting = (events: AgentEvent[]) => JSON.stringify({ version: EVENTS_VERSION, events: events.filter((e) => ['switch', 'pin-set', 'pin-cleared'].includes(e.kind)) });

  test('from the event store: three lanes, the local one down then up; three switches and two pin marks', async () => {
    const { dir, path } = writeConfig();
    const { store } = append(emptyStore('t1'), crash, { keep: 200, keepScvm: 200 });
    mkdirSync(join(dir, 'run'), { recursive: true });
    writeFileSync(join(dir, 'run', 'events.json'), JSON.stringify(store));
    writeFileSync(join(dir, 'events.json'), lasting([...store.events]));
    const svg = cli(['--config', path, 'timeline', '--since', '1h']).stdout;
    expect(svg.startsWith('<svg ')).toBe(true);
    const r = await render(svg, 'timeline-store');
    expect(r.lanes).toEqual(['10.10.85.15', '10.10.85.16', '10.10.85.17']);
    expect(r.marks.map((m) => m.kind)).toEqual(['switch', 'pin-set', 'switch', 'pin-cleared', 'switch']);
    expect(readabilityFaults(r)).toEqual([]);
    const localIcmp = r.segs.filter((s) => s.scvm === '10.10.85.15' && s.check === 'icmp').map((s) => s.state);
    expect(localIcmp).toEqual(['up', 'down', 'up']);
    expect(r.segs.filter((s) => s.row === 'route').map((s) => s.state)).toEqual(['10.10.85.15', '10.10.85.16', '10.10.85.17', '10.10.85.15']);
  });

  test('after a reboot (RAM disk emptied): no lanes, and the picture says why; the switches and pins from the persistent copy', async () => {
    const { dir, path } = writeConfig();
    const { store } = append(emptyStore('t2'), crash, { keep: 200, keepScvm: 200 });
    writeFileSync(join(dir, 'events.json'), lasting(store.events));
    const out = join(dir, 'after-reboot.svg');
    cli(['--config', path, 'timeline', '--since', '1h', '--out', out]);
    const r = await render(readFileSync(out, 'utf8'), 'timeline-after-reboot');
    expect(r.lanes).toEqual([]);
    expect(r.texts.map((t) => t.text).join('\n')).toMatch(/No SCVM lanes: no event store on the RAM disk \(emptied at a reboot/);
    expect(r.marks.map((m) => m.kind)).toEqual(['switch', 'pin-set', 'switch', 'pin-cleared', 'switch']);
    expect(readabilityFaults(r)).toEqual([]);
  });

  test('fifty switches in an hour (flapping): labels fall back to numbers, none overlaps, all inside', async () => {
    const { dir, path } = writeConfig();
    const flaps: NewEvent[] = Array.from({ length: 50 }, (_, i) => ({
      at: at(55 - i),
      kind: 'switch' as const,
      from: i % 2 ? '10.10.85.16' : '10.10.85.15',
      to: i % 2 ? '10.10.85.15' : '10.10.85.16',
      reason: i % 2 ? 'local-stable' : 'local-session-dead',
      because: 'flapping chunk service',
      ok: true,
    }));
    const { store } = append(emptyStore('t3'), flaps, { keep: 200, keepScvm: 200 });
    mkdirSync(join(dir, 'run'), { recursive: true });
    writeFileSync(join(dir, 'run', 'events.json'), JSON.stringify(store));
    const r = await render(cli(['--config', path, 'timeline']).stdout, 'timeline-flapping');
    expect(r.marks).toHaveLength(50);
    expect(readabilityFaults(r)).toEqual([]);
  });
});
