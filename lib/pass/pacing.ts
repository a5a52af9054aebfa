// How often a pass talks to the cluster's API (issue 18, "Fleet scale"): a pass every second on every host of a
// 255-host cluster must not mean 510 requests a second at the SCVMs. The session list is asked for at most every
// api.sessionsEverySec while nothing happens, and at once when it can matter; the heartbeat goes every
// api.heartbeatEverySec, and at once when the route's target changes. A failed request waits its turn like a good
// one: a failing API is not asked again every second by every host. When each was last tried is kept in the record
// file, so the pace carries across the minute's hand-over from one process to the next.
import type { Config } from '../config/schema';
import { due } from '../rate';
import type { State } from '../state/schema';
import type { SessionsObservation } from '../types';

const dueEvery = (last: { at: number } | null, everySec: number, now: number) => due(last?.at, now, everySec * 1000);

/**
 * What this pass has instead of asking for the session list, or null when it must ask: no list asked for within
 * api.sessionsEverySec, an ICMP verdict changed since the last pass (`urgent`), or session-only evidence against the
 * local SCVM waits for confirmation by fresh lists (issue 15 case 4). Instead of asking, a pass has the last list
 * (never a new sighting), or, when the last ask failed, that failure.
 */
export function listToReuse(state: State, config: Config, now: number, urgent: boolean): SessionsObservation | null {
  const asked = state.listAsked;
  if (urgent || dueEvery(asked, config.api.sessionsEverySec, now)) return null;
  if (state.engine.local.sessionBadAt.length > 0) return null;
  if (asked!.ok && state.lastList) return { ok: true, sessions: state.lastList.sessions, from: state.lastList.from, reused: true };
  const ago = Math.round((now - asked!.at) / 1000);
  const reason = `the last ask failed ${ago} s ago; asked again every api.sessionsEverySec (${config.api.sessionsEverySec} s)`;
  return { ok: false, reason, reused: true };
}

/** A list asked for this pass, answered or failed, starts the pace again; one reused or not waited for does not. */
export function noteList(state: State, sessions: SessionsObservation, now: number): void {
  if (sessions.reused || (!sessions.ok && sessions.skipped)) return;
  const was = state.listAsked;
  state.listAsked = sessions.ok
    ? { at: now, ok: true }
    : { at: now, ok: false, failingSince: was && !was.ok ? (was.failingSince ?? was.at) : now, error: sessions.reason.slice(0, 500) };
  if (sessions.ok) state.lastList = { from: sessions.from, sessions: sessions.sessions };
}

/** Whether the heartbeat naming `to` is due now: the target changed, or api.heartbeatEverySec passed since the last. */
export function heartbeatDue(last: State['heartbeat'], to: string, config: Config, now: number): boolean {
  return last === null || last.to !== to || dueEvery(last, config.api.heartbeatEverySec, now);
}
