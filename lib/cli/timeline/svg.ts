// The timeline as one self-contained SVG (no script, no external font): time across; the route's target as a band;
// the API; a lane per SCVM with its ICMP verdict and session state as coloured segments; a line per switch and pin,
// labelled with its reason, labels staggered in rows so none overlaps another; a local-time axis, a legend and the
// story in words under it. Pure: a model in (model.ts), text out. Elements carry classes and data-* attributes
// (lane, mark, label, seg) for tests and for whoever reads the file.
import type { AgentEvent } from '../../state/events';
import type { Axis, Lane, Mark, Segment, Tick, TimelineModel } from './model';

const W = 1200;
const LEFT = 240;
const RIGHT = 48;
const PLOT = W - LEFT - RIGHT;
const FONT = 11;
/** DejaVu Sans Mono's advance is 0.602 em; a little more, so an estimate never falls short of the drawn text */
const CHAR = FONT * 0.62;
const ROW = 17;
const MAX_FULL_ROWS = 6;
const STORY_LINES = 40;
const FONT_FAMILY = "'DejaVu Sans Mono', monospace";

const COLOUR: Record<string, string> = {
  up: '#2e7d32',
  alive: '#2e7d32',
  down: '#c62828',
  dead: '#c62828',
  missing: '#ef6c00',
  unknown: '#d5d5d5',
};
const ROUTE_LOCAL = '#1565c0';
const ROUTE_REMOTE = '#f9a825';
const MARK_COLOUR = { switch: '#212121', failed: '#c62828', pin: '#7b1fa2' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number) => (Math.round(v * 10) / 10).toString();
const textWidth = (s: string, size = FONT) => [...s].length * size * 0.62;

/** Cut a line to `chars` characters, with an ellipsis when cut. */
function fit(s: string, chars: number): string {
  const c = [...s];
  return c.length <= chars ? s : c.slice(0, Math.max(1, chars - 1)).join('') + '…';
}

// ---- time ----

const pad2 = (v: number) => String(v).padStart(2, '0');
const shiftOf = (axis: Axis) => (axis.kind === 'clock' ? axis.utcOffsetMin * 60_000 : -axis.zero);

function clock(ms: number, axis: Axis, withMs = false): string {
  if (axis.kind === 'elapsed') return `t=${elapsed(ms - axis.zero)}`;
  const iso = new Date(ms + shiftOf(axis)).toISOString();
  return withMs ? iso.slice(11, 23) : iso.slice(11, 19);
}

function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${pad2(s % 60)}s` : ''}`;
  return `${Math.floor(s / 3600)}h${pad2(Math.floor((s % 3600) / 60))}m`;
}

function offsetText(min: number): string {
  const a = Math.abs(min);
  return `UTC${min < 0 ? '-' : '+'}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
}

const STEPS = [1, 2, 5, 10, 15, 30].map((s) => s * 1000).concat([1, 2, 5, 10, 15, 30].map((m) => m * 60_000), [1, 2, 3, 6, 12, 24, 48, 168].map((h) => h * 3_600_000));

/** Axis ticks: at most 8, on round local times (or round seconds from the start). */
export function axisTicks(from: number, to: number, axis: Axis): { at: number; text: string }[] {
  const step = STEPS.find((s) => (to - from) / s <= 8) ?? STEPS.at(-1)!;
  const shift = shiftOf(axis);
  const out: { at: number; text: string }[] = [];
  for (let t = Math.ceil((from + shift) / step) * step - shift; t <= to; t += step) {
    let text: string;
    if (axis.kind === 'elapsed') text = elapsed(t - axis.zero);
    else {
      const iso = new Date(t + shift).toISOString();
      text = step >= 86_400_000 ? iso.slice(5, 10) : step >= 60_000 ? iso.slice(11, 16) : iso.slice(11, 19);
    }
    out.push({ at: t, text });
  }
  return out;
}

// ---- words ----

function markClass(m: Mark): 'switch' | 'failed' | 'pin' {
  return m.kind === 'switch' ? (m.ok ? 'switch' : 'failed') : 'pin';
}

/** A mark's label: what happened and why, in a few words. */
function markLabel(m: Mark): string {
  switch (m.kind) {
    case 'switch':
      return m.ok ? `→ ${m.to} ${m.reason}` : `✗ to ${m.to} FAILED ${m.reason}`;
    case 'pin-set':
      return `pin → ${m.target} (${m.who}${m.force ? ', force' : ''})`;
    case 'pin-cleared':
      return `unpin ${m.target}: ${m.why}`;
  }
}

/** An event in a sentence, for the story under the picture and the hover titles. */
function sentence(e: AgentEvent, axis: Axis): string {
  switch (e.kind) {
    case 'switch':
      return e.ok
        ? `switch ${e.from} → ${e.to} [${e.reason}]: ${e.because}`
        : `switch ${e.from} → ${e.to} FAILED [${e.reason}]: ${e.error ?? ''} (${e.because})`;
    case 'pin-set':
      return `pin to ${e.target} by ${e.who}${e.force ? ' (--force)' : ''}, ${e.until === null ? 'until route --auto' : `until ${clock(e.until, axis)}`}`;
    case 'pin-cleared':
      return `pin to ${e.target} cleared by ${e.who}: ${e.why}`;
    case 'no-healthy-target':
      return `no healthy target: the route stays on ${e.kept} (${e.because})`;
    case 'healthy-target':
      return `a healthy target again: ${e.target}`;
    case 'local-down':
      return `local SCVM ${e.ip} judged down (${e.status})`;
    case 'local-up':
      return `local SCVM ${e.ip} healthy again${e.downSec === null ? '' : ` after ${e.downSec} s`}`;
    case 'api-down':
      return `API down: ${e.why}`;
    case 'api-up':
      return `API answers again (from ${e.from})`;
    case 'runner-restarted':
      return `runner restarted after ${e.after}`;
    case 'config-rejected':
      return `config ${e.file} rejected (${e.error}); kept ${e.kept}`;
    case 'scvm':
      return `SCVM ${e.ip} ${e.check} ${e.was} → ${e.now}`;
  }
}

// ---- label rows ----

interface Placed {
  row: number;
  x0: number;
  w: number;
}

/**
 * Stagger labels: each starts at its mark (or ends there when it would run past the right edge) in the first row
 * where it overlaps no label already placed. Returns each label's row and box.
 */
export function stagger(items: { x: number; w: number }[], minX: number, maxX: number, gap = 8): Placed[] {
  const rows: { a: number; b: number }[][] = [];
  return items.map(({ x, w }) => {
    let x0 = x + 3 + w > maxX ? x - 3 - w : x + 3;
    x0 = Math.max(minX, Math.min(x0, maxX - w));
    let row = rows.findIndex((r) => r.every((b) => x0 + w + gap <= b.a || x0 >= b.b + gap));
    if (row === -1) row = rows.push([]) - 1;
    rows[row]!.push({ a: x0, b: x0 + w });
    return { row, x0, w };
  });
}

// ---- drawing ----

class Svg {
  readonly parts: string[] = [];
  add(s: string): void {
    this.parts.push(s);
  }
  text(x: number, y: number, s: string, attrs = ''): void {
    this.add(`<text x="${n(x)}" y="${n(y)}"${attrs ? ' ' + attrs : ''}>${esc(s)}</text>`);
  }
  rect(x: number, y: number, w: number, h: number, fill: string, attrs = ''): void {
    this.add(`<rect x="${n(x)}" y="${n(y)}" width="${n(Math.max(w, 0.5))}" height="${n(h)}" fill="${fill}"${attrs ? ' ' + attrs : ''}/>`);
  }
}

/** The SVG text of the picture. */
export function renderSvg(m: TimelineModel): string {
  const span = Math.max(m.to - m.from, 1000);
  const xOf = (t: number) => LEFT + ((Math.min(Math.max(t, m.from), m.from + span) - m.from) / span) * PLOT;
  const body = new Svg();
  const maxChars = Math.floor((W - 20) / CHAR);

  // title and what the window is
  body.text(10, 22, fit(m.title, Math.floor((W - 20) / (15 * 0.62))), 'font-size="15" font-weight="bold" class="title"');
  const switches = m.marks.filter((k) => k.kind === 'switch');
  const pins = m.marks.length - switches.length;
  const when =
    m.axis.kind === 'clock'
      ? `${new Date(m.from + shiftOf(m.axis)).toISOString().slice(0, 19).replace('T', ' ')} to ${clock(m.from + span, m.axis)} local time (${offsetText(m.axis.utcOffsetMin)})`
      : `${elapsed(m.from - m.axis.zero)} to ${elapsed(m.from + span - m.axis.zero)} of the simulated run`;
  body.text(10, 40, fit(`${when} · ${switches.length} switch${switches.length === 1 ? '' : 'es'}, ${pins} pin change${pins === 1 ? '' : 's'}`, maxChars), 'class="subtitle"');

  // mark labels, staggered; short ones ("#3") when full ones would need too many rows
  const order = m.marks.map((mk, i) => ({ mk, i, x: xOf(mk.at) }));
  const full = order.map((o) => `#${o.i + 1} ${clock(o.mk.at, m.axis)} ${markLabel(o.mk)}`);
  const minX = 10;
  const maxX = W - 10;
  let texts = full.map((t) => fit(t, Math.floor((maxX - minX) / CHAR) - 1));
  let placed = stagger(order.map((o, k) => ({ x: o.x, w: textWidth(texts[k]!) + 4 })), minX, maxX);
  if (placed.some((p) => p.row >= MAX_FULL_ROWS)) {
    texts = order.map((o) => `#${o.i + 1}`);
    placed = stagger(order.map((o, k) => ({ x: o.x, w: textWidth(texts[k]!) + 4 })), minX, maxX, 4);
  }
  const rows = placed.reduce((r, p) => Math.max(r, p.row + 1), 0);
  const labelsTop = 52;
  const rowY = (row: number) => labelsTop + (rows - 1 - row) * ROW; // row 0 nearest the chart
  const chartTop = labelsTop + rows * ROW + 8;

  // rows of the chart
  let y = chartTop;
  const chart = new Svg();
  /** drawn over the marks' lines, so that they do not cross its words */
  const over = new Svg();
  const rowLabel = (yy: number, h: number, s: string, attrs = '') => chart.text(LEFT - 8, yy + h / 2 + 4, s, `text-anchor="end" ${attrs}`);
  const segs = (list: Segment[], yy: number, h: number, colour: (s: string) => string, attrs: string, caption?: (s: Segment) => string | null) => {
    for (const s of list) {
      const x0 = xOf(s.from);
      const w = xOf(s.to) - x0;
      chart.rect(x0, yy, w, h, colour(s.state), `class="seg" ${attrs} data-state="${esc(s.state)}" data-from="${s.from}" data-to="${s.to}"`);
      const c = caption?.(s);
      if (c && textWidth(c) + 8 <= w) chart.text(x0 + 4, yy + h / 2 + 4, c, `class="seg-text" fill="${s.state === m.localIp ? '#fff' : '#111'}"`);
    }
  };

  // the route's target
  chart.add('<g class="route">');
  rowLabel(y, 20, 'route via', 'font-weight="bold"');
  const routeColour = (s: string) => (s === m.localIp ? ROUTE_LOCAL : s === 'unknown' ? COLOUR.unknown! : s === 'none' ? COLOUR.down! : ROUTE_REMOTE);
  const routeCaption = (s: Segment) => (s.state === m.localIp ? `local ${s.state}` : s.state === 'unknown' ? 'unknown' : s.state === 'none' ? 'no route' : `remote ${s.state}`);
  segs(m.route, y, 20, routeColour, 'data-row="route"', routeCaption);
  chart.add('</g>');
  y += 28;

  // the API and the other events
  chart.add('<g class="api">');
  rowLabel(y, 8, 'API', 'font-size="10"');
  segs(m.api, y, 8, (s) => COLOUR[s] ?? COLOUR.unknown!, 'data-row="api"');
  chart.add('</g>');
  y += 16;
  rowLabel(y, 10, 'events', 'font-size="10"');
  chart.add('<g class="ticks">');
  for (const t of m.ticks) drawTick(chart, t, xOf(t.at), y, m.axis);
  chart.add('</g>');
  y += 20;

  // a lane per SCVM
  if (m.lanes) {
    for (const lane of m.lanes) y = drawLane(chart, lane, y, segs);
  } else {
    over.rect(LEFT, y, PLOT, 40, '#f4f4f4', 'class="no-lanes" stroke="#bbb"');
    over.text(LEFT + 8, y + 16, fit('No SCVM lanes: no event store on the RAM disk (emptied at a reboot, or no pass since).', Math.floor((PLOT - 16) / CHAR)), 'class="no-lanes-text"');
    over.text(LEFT + 8, y + 31, fit('Switches and pins come from the persistent copy, which survives a reboot.', Math.floor((PLOT - 16) / CHAR)), 'class="no-lanes-text"');
    y += 48;
  }
  const chartBottom = y - 6;

  // the axis, with a light grid
  const grid = new Svg();
  const ticks = axisTicks(m.from, m.from + span, m.axis);
  for (const t of ticks) {
    const x = xOf(t.at);
    grid.add(`<line x1="${n(x)}" y1="${n(chartTop)}" x2="${n(x)}" y2="${n(chartBottom + 4)}" stroke="#e6e6e6"/>`);
    chart.text(x, chartBottom + 18, t.text, 'text-anchor="middle" class="axis-label"');
  }
  chart.add(`<line x1="${LEFT}" y1="${n(chartBottom + 4)}" x2="${LEFT + PLOT}" y2="${n(chartBottom + 4)}" stroke="#555"/>`);
  const axisCaption = m.axis.kind === 'clock' ? `local time (${offsetText(m.axis.utcOffsetMin)})` : 'time from the start of the simulated run';
  chart.text(LEFT + PLOT, chartBottom + 34, axisCaption, 'text-anchor="end" font-size="10" fill="#555" class="axis-caption"');
  y = chartBottom + 48;

  // the marks: a line each from its label down through the chart, the labels on top
  const marks = new Svg();
  order.forEach((o, k) => {
    const p = placed[k]!;
    const cls = markClass(o.mk);
    const colour = MARK_COLOUR[cls];
    const ly = rowY(p.row);
    const dash = cls === 'switch' ? '' : cls === 'failed' ? ' stroke-dasharray="5 3"' : o.mk.kind === 'pin-set' ? ' stroke-dasharray="2 2"' : ' stroke-dasharray="1 3"';
    marks.add(`<g class="mark" data-kind="${o.mk.kind}" data-seq="${o.mk.seq}" data-at="${o.mk.at}"${o.mk.kind === 'switch' ? ` data-ok="${o.mk.ok}"` : ''}>`);
    marks.add(`<title>${esc(`#${o.i + 1} ${clock(o.mk.at, m.axis, true)} ${sentence(o.mk, m.axis)}`)}</title>`);
    marks.add(`<line x1="${n(o.x)}" y1="${n(ly + 4)}" x2="${n(o.x)}" y2="${n(chartBottom + 4)}" stroke="${colour}" stroke-width="1.5"${dash}/>`);
    marks.add('</g>');
  });
  order.forEach((o, k) => {
    const p = placed[k]!;
    const ly = rowY(p.row);
    const colour = MARK_COLOUR[markClass(o.mk)];
    marks.add(`<g class="label" data-seq="${o.mk.seq}">`);
    marks.rect(p.x0, ly, p.w, ROW - 3, '#fff', `stroke="${colour}" stroke-width="0.8" rx="2"`);
    marks.text(p.x0 + 2, ly + 11, texts[k]!, `fill="${colour}"`);
    marks.add('</g>');
  });

  // legend
  const legend = new Svg();
  y = drawLegend(legend, y);

  // the story in words, and the notes
  const story = new Svg();
  const lines = storyLines(m);
  story.text(10, y + 4, 'What happened', 'font-weight="bold" class="story-title"');
  y += 20;
  // too many to say: the start and the end of the story, what is between counted
  const half = STORY_LINES / 2;
  const shown = lines.length > STORY_LINES ? [...lines.slice(0, half), `… ${lines.length - STORY_LINES} more (syslog has every one) …`, ...lines.slice(-half)] : lines;
  for (const line of shown) {
    story.text(10, y, fit(line, maxChars), line.startsWith('…') ? 'class="story" fill="#555"' : 'class="story"');
    y += 14;
  }
  if (lines.length === 0) {
    story.text(10, y, 'No switch, pin or other event in this window.', 'class="story"');
    y += 14;
  }
  for (const note of m.notes) {
    story.text(10, y + 4, fit(note, maxChars), 'class="note" fill="#555"');
    y += 14;
  }
  const height = Math.ceil(y + 10);

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" font-family="${esc(FONT_FAMILY)}" font-size="${FONT}" class="reroute-timeline">`,
    `<title>${esc(m.title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${height}" fill="#fff"/>`,
    ...body.parts,
    ...grid.parts,
    ...chart.parts,
    ...marks.parts,
    ...over.parts,
    ...legend.parts,
    ...story.parts,
    '</svg>',
    '',
  ].join('\n');
}

function drawTick(s: Svg, t: Tick, x: number, y: number, axis: Axis): void {
  const bad = t.kind === 'local-down' || t.kind === 'api-down' || t.kind === 'no-healthy-target' || t.kind === 'config-rejected' || t.kind === 'runner-restarted';
  const colour = bad ? COLOUR.down! : COLOUR.up!;
  s.add(`<g class="tick" data-kind="${t.kind}" data-seq="${t.seq}"><title>${esc(`${clock(t.at, axis, true)} ${sentence(t, axis)}`)}</title>`);
  s.add(`<path d="M${n(x)} ${n(y)} l4 5 l-4 5 l-4 -5 z" fill="${colour}"/></g>`);
}

function drawLane(
  s: Svg,
  lane: Lane,
  y: number,
  segs: (list: Segment[], y: number, h: number, colour: (st: string) => string, attrs: string) => void,
): number {
  const colour = (st: string) => COLOUR[st] ?? COLOUR.unknown!;
  s.add(`<g class="lane" data-scvm="${lane.ip}"${lane.local ? ' data-local="true"' : ''}>`);
  s.text(10, y + 13, `SCVM ${lane.ip}${lane.local ? ' (local)' : ''}`, lane.local ? 'font-weight="bold" class="lane-label"' : 'class="lane-label"');
  s.text(LEFT - 8, y + 8, 'icmp', 'text-anchor="end" font-size="9" fill="#555"');
  segs(lane.icmp, y, 9, colour, `data-scvm="${lane.ip}" data-check="icmp"`);
  s.text(LEFT - 8, y + 20, 'session', 'text-anchor="end" font-size="9" fill="#555"');
  segs(lane.session, y + 12, 9, colour, `data-scvm="${lane.ip}" data-check="session"`);
  s.add('</g>');
  return y + 32;
}

function drawLegend(s: Svg, y: number): number {
  const items: [string, string, string][] = [
    ['rect', COLOUR.up!, 'ICMP up / session alive'],
    ['rect', COLOUR.down!, 'down / dead'],
    ['rect', COLOUR.missing!, 'session missing'],
    ['rect', COLOUR.unknown!, 'not known'],
    ['rect', ROUTE_LOCAL, 'route via the local SCVM'],
    ['rect', ROUTE_REMOTE, 'route via a remote SCVM'],
    ['line', MARK_COLOUR.switch, 'switch'],
    ['dash', MARK_COLOUR.failed, 'failed switch'],
    ['dot', MARK_COLOUR.pin, 'pin set / cleared'],
    ['tick', COLOUR.down!, 'event (hover for it)'],
  ];
  s.add('<g class="legend">');
  let x = 10;
  for (const [kind, colour, label] of items) {
    const w = 22 + textWidth(label) + 16;
    if (x + w > W - 10) {
      x = 10;
      y += 18;
    }
    if (kind === 'rect') s.rect(x, y - 9, 14, 10, colour);
    else if (kind === 'tick') s.add(`<path d="M${n(x + 7)} ${n(y - 10)} l4 5 l-4 5 l-4 -5 z" fill="${colour}"/>`);
    else s.add(`<line x1="${n(x + 7)}" y1="${n(y - 11)}" x2="${n(x + 7)}" y2="${n(y + 2)}" stroke="${colour}" stroke-width="1.5"${kind === 'dash' ? ' stroke-dasharray="5 3"' : kind === 'dot' ? ' stroke-dasharray="2 2"' : ''}/>`);
    s.text(x + 20, y, label);
    x += w;
  }
  s.add('</g>');
  return y + 26;
}

/** The window's events in words, numbered as the marks are. */
function storyLines(m: TimelineModel): string[] {
  const number = new Map(m.marks.map((mk, i) => [mk, i + 1]));
  const all: AgentEvent[] = [...m.marks, ...m.ticks].sort((a, b) => a.at - b.at || a.seq - b.seq);
  return all.map((e) => {
    const k = number.get(e as Mark);
    return `${k === undefined ? '·' : `#${k}`} ${clock(e.at, m.axis, true)}  ${sentence(e, m.axis)}`;
  });
}
