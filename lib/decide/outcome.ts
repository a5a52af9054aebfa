// After act: record what really happened. A failed switch is not believed done; a failed refresh stays pending.
import type { EngineState } from './state';

/** What the act step did with a decision. */
export interface Outcome {
  switched?: { ok: boolean; to: string; error?: string };
  refreshed?: { ok: boolean; error?: string };
}

/** The state after act, given the state decide() returned. */
export function applyOutcome(state: EngineState, outcome: Outcome, now: number): EngineState {
  let { target, refreshPending } = state;
  const last = state.journal[state.journal.length - 1];
  const note: { switched?: string; refreshed?: string } = {};
  if (outcome.switched) {
    if (outcome.switched.ok) {
      target = outcome.switched.to;
      // "Refresh after add": every route add owes a session refresh at the new access point.
      refreshPending = { target, since: now, attempts: 0, lastError: null };
      note.switched = 'ok';
    } else {
      note.switched = outcome.switched.error ?? 'failed';
    }
  }
  if (outcome.refreshed) {
    if (outcome.refreshed.ok) {
      refreshPending = null;
      note.refreshed = 'ok';
    } else {
      const error = outcome.refreshed.error ?? 'failed';
      const base = refreshPending ?? { target: target ?? '', since: now, attempts: 0, lastError: null };
      refreshPending = target === null ? null : { ...base, target, attempts: base.attempts + 1, lastError: error };
      note.refreshed = error;
    }
  }
  const journal = last ? [...state.journal.slice(0, -1), { ...last, ...note }] : state.journal;
  return { ...state, target, refreshPending, journal };
}
