// `reroute simulate <timeline.json>`: replay a scripted timeline through the engine; print every switch and a summary.
import { readFileSync } from 'node:fs';
import { writeFileBounded } from '../../runtime/files';
import { UsageError } from '../../errors';
import { parseTimeline } from '../../decide/timeline';
import { simulate, type SimReport } from '../../decide/simulate';
import type { CommandEnv } from '../context';
import { simulatedTimeline } from '../timeline/from-simulate';
import { buildModel } from '../timeline/model';
import { renderSvg } from '../timeline/svg';

function readTimeline(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UsageError(`timeline ${file}: cannot read it (${code}); give the path of a timeline JSON file`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`timeline ${file}: not valid JSON (${(err as Error).message}); see docs/decision.md "Timeline format"`);
  }
}

/** The one-line summary of a run (printed last, and the note under its picture). */
export function summaryLines(r: SimReport): string[] {
  const failed = r.switches.filter((s) => !s.ok).length;
  return [
    `summary ${r.name}: ${r.switches.length - failed} switch(es)${failed ? ` (+${failed} failed)` : ''} over ${r.durationSec} s` +
      ` (${r.passes} passes, ${r.healthChanges} health change(s)); ${r.deadPathSec} s on a dead path; ${r.reroutedSec} s rerouted`,
  ];
}

/** The picture of the run (--svg): the file, or stdout for "-". */
async function writeSvg(file: string, svg: string): Promise<void> {
  try {
    await writeFileBounded(file, svg, { mode: 0o644 });
  } catch (err) {
    throw new UsageError(`--svg ${file}: cannot write it (${(err as Error).message}); give a writable path`);
  }
}

/** Run the simulate command; returns the exit code. A bad timeline throws UsageError (exit 2). */
export async function run(opts: { file: string; json: boolean; svg?: string }, env: CommandEnv): Promise<number> {
  const parsed = parseTimeline(readTimeline(opts.file));
  if (!parsed.ok) {
    const more = parsed.problems.length > 1 ? ` (and ${parsed.problems.length - 1} more: ${parsed.problems.slice(1).join('; ')})` : '';
    throw new UsageError(`timeline ${opts.file}: ${parsed.problems[0]}${more}; see docs/decision.md "Timeline format"`);
  }
  const report = simulate(parsed.timeline, parsed.config);
  if (opts.svg !== undefined) await writeSvg(opts.svg, renderSvg(buildModel(simulatedTimeline(report, parsed.config, summaryLines(report)))));
  if (opts.json) {
    const { finalState: _state, routeBySec: _route, facts: _facts, ...rest } = report;
    env.display.out(JSON.stringify(rest, null, 2));
    return 0;
  }
  const at = (sec: number) => `t=${String(sec).padStart(5)}s`;
  const lines = [
    ...report.pins.map((p) => ({ sec: p.atSec, text: `${at(p.atSec)}  ${p.text}` })),
    ...report.switches.map((s) => ({
      sec: s.atSec,
      text: `${at(s.atSec)}  switch ${s.from || '(none)'} -> ${s.to}${s.ok ? '' : ' FAILED'}  [${s.reason}] ${s.because}`,
    })),
  ];
  // Stable sort: at one second the operator's command comes before the pass it affects.
  for (const l of lines.sort((a, b) => a.sec - b.sec)) env.display.out(l.text);
  for (const line of summaryLines(report)) env.display.out(line);
  return 0;
}
