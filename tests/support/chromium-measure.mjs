// Render SVG files in Debian's headless Chromium and measure them (puppeteer-core is ESM only, which jest cannot
// load without --experimental-vm-modules: tests/support/svg-in-chromium.ts runs this in a child process).
// stdin: [{ "svg": "/path/a.svg", "png": "/path/a.png" (optional) }, ...]   stdout: one measurement each, as JSON.
import { existsSync, readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const CHROMIUM = '/usr/bin/chromium-headless-shell';

// Boxes are getBBox(): the SVG's own units. measure() runs in the page (puppeteer's evaluate), where document is.
/* global document */
function measure() {
  const root = document.querySelector('svg');
  const vb = root.viewBox.baseVal;
  const box = (el) => {
    const b = el.getBBox();
    return { x: b.x, y: b.y, w: b.width, h: b.height };
  };
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
}

if (!existsSync(CHROMIUM)) {
  process.stderr.write(`${CHROMIUM} is missing: run scripts/install-deps as root (it installs chromium-headless-shell)\n`);
  process.exit(2);
}
const items = JSON.parse(readFileSync(0, 'utf8'));
const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--font-render-hinting=none'] });
try {
  const out = [];
  for (const item of items) {
    const svg = readFileSync(item.svg, 'utf8');
    const m = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(svg);
    if (!m) throw new Error(`${item.svg}: the SVG has no viewBox`);
    const page = await browser.newPage();
    await page.setViewport({ width: Math.ceil(Number(m[1])), height: Math.ceil(Number(m[2])) });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`, { waitUntil: 'load' });
    out.push(await page.evaluate(measure));
    if (item.png) await page.screenshot({ path: item.png });
    await page.close();
  }
  process.stdout.write(JSON.stringify(out));
} finally {
  await browser.close();
}
