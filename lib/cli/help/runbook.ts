// The runbook (docs/operations.md) as topics for `reroute help <topic>`: ESXi has no man, and the packages carry no
// docs/, so the text is built into the CLI (scripts/build.mjs) from the one source. Pure: text in, topics out.
declare const __REROUTE_RUNBOOK__: string | undefined;

export interface Topic {
  /** the name `reroute help` takes */
  name: string;
  /** the section's heading, without the "## " */
  title: string;
  /** the section, heading included, as the markdown has it */
  text: string;
}

const MARKER = /^<!-- topic: ([a-z0-9-]+) -->$/;

/** The topics of a runbook: each section that starts with a `<!-- topic: name -->` line, up to the next one. */
export function parseTopics(markdown: string): Topic[] {
  const topics: Topic[] = [];
  let current: { name: string; lines: string[] } | null = null;
  const close = () => {
    if (!current) return;
    const text = current.lines.join('\n').trim();
    const title = /^## (.+)$/m.exec(text)?.[1] ?? current.name;
    topics.push({ name: current.name, title, text });
  };
  for (const line of markdown.split('\n')) {
    const m = MARKER.exec(line);
    if (m) {
      close();
      current = { name: m[1]!, lines: [] };
    } else current?.lines.push(line);
  }
  close();
  return topics;
}

function runbookText(): string {
  if (typeof __REROUTE_RUNBOOK__ === 'string') return __REROUTE_RUNBOOK__;
  // Unbundled runs (tests through ts-jest) read the checkout's file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  return readFileSync(`${__dirname}/../../../docs/operations.md`, 'utf8');
}

/** The runbook's topics. */
export function runbookTopics(): Topic[] {
  return parseTopics(runbookText());
}
