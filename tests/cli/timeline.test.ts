// The timeline's pure parts (lib/cli/timeline/): segments from changes, the model from events (each once, the states
// before the window), label staggering, the SVG's elements and escaping, the window `reroute timeline` draws.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summaryLines } from '../../lib/cli/commands/simulate';
import { windowOf } from '../../lib/cli/commands/timeline';
import { simulatedEvents, simulatedTimeline } from '../../lib/cli/timeline/from-simulate';
import { buildModel, segments, type TimelineInput } from '../../lib/cli/timeline/model';
import { axisTicks, renderSvg, stagger } from '../../lib/cli/timeline/svg';
import { parseTimeline } from '../../lib/decide/timeline';
import { simulate } from '../../lib/decide/simulate';
import type { AgentEvent } from '../../lib/state/events';

const T = Date.UTC(2026, 11, 7, 21, 0, 0);
const L = '10.10.85.15';
const R16 = '10.10.85.16';
const R17 = '10.10.85.17';

const input = (events: AgentEvent[], over: Partial<TimelineInput> = {}): TimelineInput => ({
  title: 'test',
  from: T,
  to: T + 600_000,
  localIp: L,
  scvms: [L, R16, R17],
  events,
  lanes: true,
  now: { scvm: {}, target: null, apiOk: null },
  axis: { kind: 'clock', utcOffsetMin: 60 },
  notes: [],
  ...over,
});

describe('segments', () => {
  test('the state before the first change is what it says it was; each change starts a segment', () => {
    expect(segments(0, 100, [{ at: 10, was: 'up', now: 'down' }, { at: 40, was: 'down', now: 'up' }], 'x')).toEqual([
      { from: 0, to: 10, state: 'up' },
      { from: 10, to: 40, state: 'down' },
      { from: 40, to: 100, state: 'up' },
    ]);
  });
  test('no change: the state now throughout; a change before the window sets its start', () => {
    expect(segments(0, 100, [], 'alive')).toEqual([{ from: 0, to: 100, state: 'alive' }]);
    expect(segments(50, 100, [{ at: 10, was: 'up', now: 'down' }], 'up')).toEqual([{ from: 50, to: 100, state: 'down' }]);
  });
  test('segments tile the window without gaps, whatever the changes', () => {
    const change = fc.record({ at: fc.integer({ min: -50, max: 150 }), was: fc.constantFrom('a', 'b', 'c'), now: fc.constantFrom('a', 'b', 'c') });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 20 }), (cs) => {
        const s = segments(0, 100, [...cs].sort((a, b) => a.at - b.at), 'a');
        expect(s[0]!.from).toBe(0);
        expect(s.at(-1)!.to).toBe(100);
        for (let i = 1; i < s.length; i++) {
          expect(s[i]!.from).toBe(s[i - 1]!.to);
          expect(s[i]!.state).not.toBe(s[i - 1]!.state);
        }
      }),
    );
  });
});

describe('buildModel', () => {
  const sw = (seq: number, at: number, to: string): AgentEvent => ({ seq, at, kind: 'switch', from: to === L ? R16 : L, to, reason: 'r', because: 'b', ok: true });
  test('a switch kept in both the RAM store and the persistent copy is one mark; the route band follows the switches', () => {
    const a = sw(1, T + 60_000, R16);
    const b = sw(5, T + 300_000, L);
    const m = buildModel(input([a, b, { ...a, seq: 1 }, b]));
    expect(m.marks).toHaveLength(2);
    expect(m.route.map((s) => s.state)).toEqual([L, R16, L]);
  });
  test('per SCVM: icmp and session lanes from scvm events; with no event, what is known now; without the store, no lanes', () => {
    const m = buildModel(
      input([{ seq: 2, at: T + 60_000, kind: 'scvm', ip: R17, check: 'session', was: 'alive', now: 'dead' }], { now: { scvm: { [R16]: { icmp: 'up' } }, target: L, apiOk: true } }),
    );
    const lane = (ip: string) => m.lanes!.find((l) => l.ip === ip)!;
    expect(lane(R17).session.map((s) => s.state)).toEqual(['alive', 'dead']);
    expect(lane(R16).icmp.map((s) => s.state)).toEqual(['up']);
    expect(lane(L).icmp.map((s) => s.state)).toEqual(['unknown']);
    expect(m.api.map((s) => s.state)).toEqual(['up']);
    expect(buildModel(input([], { lanes: false })).lanes).toBeNull();
  });
});

describe('stagger', () => {
  test('labels never overlap in a row and stay within the bounds', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ x: fc.integer({ min: 200, max: 1150 }), w: fc.integer({ min: 10, max: 400 }) }), { maxLength: 60 }), (raw) => {
        const items = [...raw].sort((a, b) => a.x - b.x);
        const placed = stagger(items, 10, 1190);
        for (const p of placed) {
          expect(p.x0).toBeGreaterThanOrEqual(10);
          expect(p.x0 + p.w).toBeLessThanOrEqual(1190);
        }
        for (let i = 0; i < placed.length; i++)
          for (let j = i + 1; j < placed.length; j++) {
            const a = placed[i]!;
            const b = placed[j]!;
            if (a.row === b.row) expect(a.x0 + a.w <= b.x0 || b.x0 + b.w <= a.x0).toBe(true);
          }
      }),
    );
  });
});

describe('axisTicks', () => {
  test('round local times, at most 8, inside the window', () => {
    const ticks = axisTicks(T + 7000, T + 600_000, { kind: 'clock', utcOffsetMin: 60 });
    expect(ticks.map((t) => t.text)).toEqual(['22:02', '22:04', '22:06', '22:08', '22:10']);
    const sim = axisTicks(0, 900_000, { kind: 'elapsed', zero: 0 });
    expect(sim[0]!.text).toBe('0s');
    expect(sim.length).toBeLessThanOrEqual(8);
  });
});

describe('renderSvg', () => {
  test('a lane per SCVM, a mark per switch and pin, reasons in the labels, text escaped, no script', () => {
    const events: AgentEvent[] = [
      { seq: 1, at: T + 60_000, kind: 'switch', from: L, to: R16, reason: 'local-icmp-down', because: 'ping <lost> & gone', ok: true },
      { seq: 2, at: T + 120_000, kind: 'pin-set', target: R17, until: null, force: true, who: 'operator' },
      { seq: 3, at: T + 125_000, kind: 'switch', from: R16, to: R17, reason: 'pinned', because: 'pinned', ok: false, error: 'esxcli failed' },
      { seq: 4, at: T + 200_000, kind: 'local-down', ip: L, status: 'icmp-down' },
    ];
    const svg = renderSvg(buildModel(input(events)));
    expect(svg.match(/<g class="lane" /g)).toHaveLength(3);
    expect(svg.match(/<g class="mark" /g)).toHaveLength(3);
    expect(svg).toContain('data-kind="pin-set"');
    expect(svg).toContain('data-ok="false"');
    expect(svg).toContain('→ 10.10.85.16 local-icmp-down');
    expect(svg).toContain('ping &lt;lost&gt; &amp; gone');
    expect(svg).toContain('<g class="tick" data-kind="local-down"');
    expect(svg).not.toMatch(/<script|href=|@import|url\(/);
    expect(svg).toContain('local time (UTC+01:00)');
  });
});

describe('windowOf', () => {
  test('from a little before the first event in --since, to now; all of --since when nothing happened', () => {
    const now = T + 7_200_000;
    expect(windowOf(now, 7_200_000, [])).toEqual({ from: T, to: now });
    const e = { seq: 1, at: now - 600_000, kind: 'api-up', from: 'x' } as AgentEvent;
    expect(windowOf(now, 7_200_000, [e])).toEqual({ from: now - 600_000 - 30_000, to: now });
  });
});

describe('simulatedEvents', () => {
  test('a simulated crash: the switch, the scripted facts, the pins as the agent tells them', () => {
    const t = parseTimeline({
      durationSec: 300,
      passEverySec: 1,
      events: [
        { at: 10, set: { local: { icmp: false } } },
        { at: 30, set: { pin: { target: R17 } } },
        { at: 60, set: { pin: null } },
      ],
    });
    if (!t.ok) throw new Error(t.problems.join());
    const events = simulatedEvents(simulate(t.timeline, t.config));
    const kinds = events.map((e) => e.kind);
    expect(kinds.slice(0, 2)).toEqual(['scvm', 'switch']);
    expect(events[0]).toMatchObject({ ip: L, check: 'icmp', was: 'up', now: 'down' });
    expect(kinds).toContain('pin-set');
    expect(events.find((e) => e.kind === 'pin-cleared')).toMatchObject({ target: R17, who: 'operator' });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });
});

describe('the picture in README and docs/operations.md', () => {
  test('docs/timeline-scvm-crash.svg is what simulate --svg draws of examples/timelines/scvm-crash.json now', () => {
    const root = join(__dirname, '..', '..');
    const t = parseTimeline(JSON.parse(readFileSync(join(root, 'examples', 'timelines', 'scvm-crash.json'), 'utf8')));
    if (!t.ok) throw new Error(t.problems.join());
    const report = simulate(t.timeline, t.config);
    const svg = renderSvg(buildModel(simulatedTimeline(report, t.config, summaryLines(report))));
    // out of date: reroute simulate examples/timelines/scvm-crash.json --svg docs/timeline-scvm-crash.svg
    expect(readFileSync(join(root, 'docs', 'timeline-scvm-crash.svg'), 'utf8')).toBe(svg);
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('](docs/timeline-scvm-crash.svg)');
    expect(readFileSync(join(root, 'docs', 'operations.md'), 'utf8')).toContain('](timeline-scvm-crash.svg)');
  });
});
