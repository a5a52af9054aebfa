// The Python agent this one replaces (issue 16 item 5): its cron entries and boot hooks. Two agents must never fight
// over the route, so `install` either comments them out (--replace-old-agent, saying so) or refuses, naming them;
// `doctor` fails while any is left; `uninstall` leaves them commented out unless --restore-old-agent, which puts back
// exactly the lines install commented out (the way back to the Python agent).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../runtime/exec';
import { isAgentLine } from './crontab';
import { readText, underRoot, type Place, type Targets } from './targets';

/** What only the old agent's lines name: its script, its check, its ROUTE-mode script. */
export const OLD_AGENT_MARKERS = ['reroute.py', 'check_scvm_reroute_status', 'change_route_route.sh'] as const;

/** What a line of the old agent becomes: a comment saying who made it one, the line kept whole after it. */
export const REPLACED_PREFIX = '# replaced by reroute install --replace-old-agent: ';

/** A file where the old agent may be started from; `shell` when it is a script (a boot hook), not a crontab. */
export interface OldAgentPlace extends Place {
  shell: boolean;
}

/** One active line of the old agent. */
export interface OldAgentLine {
  /** 1-based */
  line: number;
  text: string;
  marker: string;
}

/** The old agent's lines in one file. */
export interface OldAgentHit {
  place: OldAgentPlace;
  lines: OldAgentLine[];
}

/** Active lines (not comments, not this agent's) that name the old agent. */
export function oldAgentLines(text: string): OldAgentLine[] {
  const found: OldAgentLine[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.trimStart().startsWith('#') || isAgentLine(l)) return;
    const marker = OLD_AGENT_MARKERS.find((m) => l.includes(m));
    if (marker) found.push({ line: i + 1, text: l, marker });
  });
  return found;
}

/**
 * `text` with the given lines commented out (REPLACED_PREFIX), every other byte kept. A crontab line and a line of a
 * here-document become comments alike; in a shell script a line continued from the one before or onto the next
 * cannot be commented out alone: that is refused (null), to be edited by hand.
 */
export function withOldAgentCommented(text: string, lines: number[], shell: boolean): string | null {
  const all = text.split('\n');
  for (const n of lines) {
    const i = n - 1;
    if (shell && (/\\$/.test(all[i] ?? '') || /\\$/.test(all[i - 1] ?? ''))) return null;
    all[i] = REPLACED_PREFIX + all[i];
  }
  return all.join('\n');
}

/** The lines `install --replace-old-agent` commented out (1-based), as they were before. */
export function replacedLines(text: string): OldAgentLine[] {
  const found: OldAgentLine[] = [];
  text.split('\n').forEach((l, i) => {
    if (!l.startsWith(REPLACED_PREFIX)) return;
    const was = l.slice(REPLACED_PREFIX.length);
    found.push({ line: i + 1, text: was, marker: OLD_AGENT_MARKERS.find((m) => was.includes(m)) ?? '' });
  });
  return found;
}

/** `text` with every line `install --replace-old-agent` commented out as it was before; every other byte kept. */
export function withOldAgentRestored(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.startsWith(REPLACED_PREFIX) ? l.slice(REPLACED_PREFIX.length) : l))
    .join('\n');
}

/** Every file holding lines `install --replace-old-agent` commented out, with those lines. */
export function findReplacedOldAgent(t: Targets): OldAgentHit[] {
  return scan(t, replacedLines);
}

function place(root: string | null, path: string, shell: boolean): OldAgentPlace {
  return { path, file: underRoot(root, path), shell };
}

/**
 * Where the old agent was started from. ESXi: root's crontab and local.sh. Xen dom0 and Linux: /etc/crontab, every
 * file in /etc/cron.d, root's crontab (cronie: /var/spool/cron/root; Debian: /var/spool/cron/crontabs/root) and
 * rc.local.
 */
export function oldAgentPlaces(t: Targets): OldAgentPlace[] {
  if (t.platform === 'esxi') return [place(t.root, t.crontab.path, false), ...(t.bootScript ? [{ ...t.bootScript, shell: true }] : [])];
  let cronD: string[] = [];
  try {
    cronD = readdirSync(underRoot(t.root, '/etc/cron.d')).filter((n) => !n.startsWith('.')).sort();
  } catch {
    // no /etc/cron.d
  }
  return [
    place(t.root, '/etc/crontab', false),
    ...cronD.map((n) => place(t.root, join('/etc/cron.d', n), false)),
    place(t.root, '/var/spool/cron/root', false),
    place(t.root, '/var/spool/cron/crontabs/root', false),
    place(t.root, '/etc/rc.d/rc.local', true),
    place(t.root, '/etc/rc.local', true),
  ];
}

/** Every file holding an active line of the old agent, with those lines. */
export function findOldAgent(t: Targets): OldAgentHit[] {
  return scan(t, oldAgentLines);
}

function scan(t: Targets, linesOf: (text: string) => OldAgentLine[]): OldAgentHit[] {
  const hits: OldAgentHit[] = [];
  for (const p of oldAgentPlaces(t)) {
    let text: string;
    try {
      text = readText(p.file);
    } catch {
      continue; // a directory or an unreadable file is no crontab
    }
    const lines = linesOf(text);
    if (lines.length > 0) hits.push({ place: p, lines });
  }
  return hits;
}

/** "/etc/crontab line 4 (reroute.py), /etc/rc.local.d/local.sh line 12 (check_scvm_reroute_status)". */
export function describeOldAgent(hits: OldAgentHit[]): string {
  return hits.flatMap((h) => h.lines.map((l) => `${h.place.file} line ${l.line} (${l.marker})`)).join(', ');
}

/**
 * The first error `/bin/sh -n` finds in `text`, or null when it parses (or no /bin/sh can tell): a boot hook edited
 * into a syntax error would stop at boot before the reroute block near its end.
 */
export async function shellSyntaxError(text: string, timeoutMs = 5000): Promise<string | null> {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-sh-'));
  try {
    const file = join(dir, 'script.sh');
    writeFileSync(file, text);
    const r = await run(['/bin/sh', '-n', file], { timeoutMs });
    if (r.status === 0) return null;
    return `sh -n: ${(r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`).replace(`${file}: `, '').replace(file, 'the script')}`;
  } catch {
    return null; // no shell to ask
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
