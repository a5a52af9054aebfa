// The timeline's SVG as a reader sees it: rendered by Debian's headless Chromium (chromium-headless-shell, installed
// by scripts/install-deps), driven by puppeteer-core, with every text box measured by the browser's own layout.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium-headless-shell';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** What the rendered picture holds, in the SVG's own coordinates (its viewBox). */
export interface Rendered {
  viewBox: Box;
  /** data-scvm of each lane */
  lanes: string[];
  /** each switch and pin mark */
  marks: { kind: string; seq: number }[];
  /** every <text> element with what it says and its box */
  texts: { text: string; cls: string; box: Box }[];
  /** the box of each mark's label (its background rectangle) */
  labels: { seq: number; box: Box }[];
  /** segments: lane/row, check and state */
  segs: { scvm: string | null; row: string | null; check: string | null; state: string; box: Box }[];
}

// Runs in the page (a string: this project's TypeScript has no DOM types). Boxes are getBBox(): the SVG's own units.
const MEASURE = `(() => {
  const root = document.querySelector('svg');
  const vb = root.viewBox.baseVal;
  const box = (el) => { const b = el.getBBox(); return { x: b.x, y: b.y, w: b.width, h: b.height }; };
  const all = (sel) => [...root.querySelectorAll(sel)];
  return {
    viewBox: { x: vb.x, y: vb.y, w: vb.width, h: vb.height },
    lanes: all('g.lane').map((g) => g.getAttribute('data-scvm') || ''),
    marks: all('g.mark').map((g) => ({ kind: g.getAttribute('data-kind') || '', seq: Number(g.getAttribute('data-seq')) })),
    texts: all('text').map((t) => ({ text: t.textContent || '', cls: t.getAttribute('class') || '', box: box(t) })),
    labels: all('g.label').map((g) => ({ seq: Number(g.getAttribute('data-seq')), box: box(g) })),
    segs: all('rect.seg').map((r) => ({
      scvm: r.getAttribute('data-scvm'),
      row: r.getAttribute('data-row'),
      check: r.getAttribute('data-check'),
      state: r.getAttribute('data-state') || '',
      box: box(r),
    })),
  };
})()`;

export async function openChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-deps as root (it installs chromium-headless-shell)`);
  return puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--font-render-hinting=none'] });
}

/** Render `svg` alone on a page its size, measure it, and screenshot it to `png` when given. */
export async function render(browser: Browser, svg: string, png?: string): Promise<Rendered> {
  const page = await browser.newPage();
  try {
    const m = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(svg);
    if (!m) throw new Error('the SVG has no viewBox');
    await page.setViewport({ width: Math.ceil(Number(m[1])), height: Math.ceil(Number(m[2])) });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`, { waitUntil: 'load' });
    const out = (await page.evaluate(MEASURE)) as Rendered;
    if (png) await page.screenshot({ path: png as `${string}.png` });
    return out;
  } finally {
    await page.close();
  }
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (a: Box, v: Box) => a.x >= v.x - 0.5 && a.y >= v.y - 0.5 && a.x + a.w <= v.x + v.w + 0.5 && a.y + a.h <= v.y + v.h + 0.5;

/**
 * What makes the picture readable, as a list of faults (empty: none): a text that draws nothing, anything outside the
 * viewBox, two mark labels on top of each other, a label's text wider than its box.
 */
export function readabilityFaults(r: Rendered): string[] {
  const faults: string[] = [];
  for (const t of r.texts) {
    if (!(t.box.w > 0 && t.box.h > 0)) faults.push(`text "${t.text}" has an empty box`);
    if (!inside(t.box, r.viewBox)) faults.push(`text "${t.text}" (${JSON.stringify(t.box)}) is outside the viewBox`);
  }
  for (const [i, a] of r.labels.entries()) {
    if (!inside(a.box, r.viewBox)) faults.push(`label of event ${a.seq} is outside the viewBox`);
    for (const b of r.labels.slice(i + 1)) if (overlap(a.box, b.box)) faults.push(`labels of events ${a.seq} and ${b.seq} overlap`);
  }
  return faults;
}
