// After act: record what really happened. A failed switch is not believed done; a failed refresh is owed still (the
// next pass orders it again, since the route's target is not where the last successful refresh went).
import type { EngineState } from './state';

/** What the act step did with a decision. */
export interface Outcome {
  switched?: { ok: boolean; to: string; error?: string };
  refreshed?: { ok: true; target: string; sessionId: string } | { ok: false; target: string; error: string };
}

/** The state after act, given the state decide() returned. */
export function applyOutcome(state: EngineState, outcome: Outcome, now: number): EngineState {
  let { target, refreshed } = state;
  let { refreshFailing } = state.record;
  const journal = state.record.journal;
  const last = journal[journal.length - 1];
  const note: { switched?: string; refreshed?: string } = {};
  if (outcome.switched) {
    if (outcome.switched.ok) target = outcome.switched.to;
    note.switched = outcome.switched.ok ? 'ok' : (outcome.switched.error ?? 'failed');
  }
  const r = outcome.refreshed;
  if (r?.ok) {
    refreshed = { target: r.target, sessionId: r.sessionId, at: now };
    refreshFailing = null;
    note.refreshed = 'ok';
  } else if (r) {
    const same = refreshFailing?.target === r.target ? refreshFailing : null;
    refreshFailing = { target: r.target, since: same?.since ?? now, attempts: (same?.attempts ?? 0) + 1, lastError: r.error };
    note.refreshed = r.error;
  }
  return {
    ...state,
    target,
    refreshed,
    record: { ...state.record, refreshFailing, journal: last ? [...journal.slice(0, -1), { ...last, ...note }] : journal },
  };
}
