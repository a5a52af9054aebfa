// The bounded pass journal kept in state, and its wording for `reroute status`. A run of passes that kept the same
// route for the same reason is one entry with a count, so the journal's entries are events, not seconds: at a pass a
// second, 200 entries of one each would forget a failover after three minutes, and every pass would rewrite and
// re-read them all.
import type { JournalEntry } from './state';

/** How many passes an entry stands for. */
export const passesIn = (e: JournalEntry): number => e.repeats ?? 1;

/**
 * Append this pass's entry, keeping the last `size` entries. The last entry, now complete (applyOutcome noted what
 * the act step did), is first folded into the one before when it repeats it; the new one stays alone until then.
 */
export function appendJournal(journal: JournalEntry[], entry: JournalEntry, size: number): JournalEntry[] {
  const next = [...foldLast(journal), entry];
  return next.length > size ? next.slice(next.length - size) : next;
}

function foldLast(journal: JournalEntry[]): JournalEntry[] {
  const [a, b] = journal.slice(-2);
  if (a === undefined || b === undefined || !isRepeat(a, b)) return journal;
  return [...journal.slice(0, -2), { ...a, repeats: passesIn(a) + passesIn(b), until: b.until ?? b.at }];
}

const LOCAL_WORDS: Record<JournalEntry['local'], string> = {
  healthy: 'local SCVM healthy',
  'icmp-down': 'local SCVM not answering ping',
  'nfs-down': 'local SCVM not answering NFS',
  'session-missing': 'local SCVM without a session',
  'session-dead': 'local SCVM session not alive',
  unknown: 'local SCVM not confirmed (no session list)',
};

function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function outcomeWords(e: JournalEntry): string {
  const parts: string[] = [];
  if (e.switched !== undefined) parts.push(e.switched === 'ok' ? 'route changed' : `route change FAILED: ${e.switched}`);
  if (e.refreshed !== undefined)
    parts.push(e.refreshed === 'ok' ? 'session refresh done' : `session refresh FAILED (retried next pass): ${e.refreshed}`);
  return parts.length ? ` [${parts.join('; ')}]` : '';
}

/** `b` repeats `a`: both kept the same route for the same reason, with the same view of the local SCVM and the API. */
export function isRepeat(a: JournalEntry, b: JournalEntry): boolean {
  return !a.change && !b.change && a.reason === b.reason && a.to === b.to && a.local === b.local && a.api === b.api &&
    a.switched === undefined && b.switched === undefined && a.refreshed === b.refreshed;
}

/** One line per entry, oldest first; a run of identical "kept" passes is one line with its count. */
export function describeJournal(entries: JournalEntry[], stamp: (ms: number) => string = utcStamp): string[] {
  const lines: string[] = [];
  let i = 0;
  while (i < entries.length) {
    const e = entries[i]!;
    let j = i;
    let passes = passesIn(e);
    while (j + 1 < entries.length && isRepeat(e, entries[j + 1]!)) passes += passesIn(entries[++j]!);
    const what = e.change
      ? `SWITCH ${e.from || '(no route)'} -> ${e.to}`
      : `kept ${e.to}`;
    const api = e.api ? '' : ', session list unavailable';
    const end = entries[j]!;
    const repeat = passes > 1 ? ` (same for ${passes} passes until ${stamp(end.until ?? end.at)})` : '';
    lines.push(`${stamp(e.at)}  ${what}: ${e.because} (${LOCAL_WORDS[e.local]}${api}; reason ${e.reason})${outcomeWords(e)}${repeat}`);
    i = j + 1;
  }
  return lines;
}
