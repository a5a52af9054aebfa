// The timeline's SVG as a reader sees it: rendered by Debian's headless Chromium (chromium-headless-shell, installed
// by scripts/install-deps), driven by puppeteer-core, with every text box measured by the browser's own layout.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

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

/**
 * Render SVG files (a screenshot to `png` where given) in one Chromium, in a child process
 * (tests/support/chromium-measure.mjs: puppeteer-core is ESM only, which jest cannot load), and measure them.
 */
export function renderSvgFiles(items: { svg: string; png?: string }[]): Promise<Rendered[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [join(__dirname, 'chromium-measure.mjs')], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`chromium-measure: ${err.message}${stderr ? `\n${stderr}` : ''}`));
      else resolve(JSON.parse(stdout) as Rendered[]);
    });
    child.stdin!.end(JSON.stringify(items));
  });
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (a: Box, v: Box) => a.x >= v.x - 0.5 && a.y >= v.y - 0.5 && a.x + a.w <= v.x + v.w + 0.5 && a.y + a.h <= v.y + v.h + 0.5;

/**
 * What makes the picture unreadable, as a list of faults (empty: none): a text that draws nothing, a text or a mark's
 * label outside the viewBox, two labels (their box and text) on top of each other.
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
