// The bounded race over the SCVMs (issue 18): one request at a time, local SCVM first; another SCVM is asked only
// when one has failed, or once (the hedge) when the first has stayed unanswered past the hedge delay. Every extra
// request costs a retry token; at most MAX_IN_FLIGHT requests run for the whole process. When one answers, the others
// are left to finish (their latency is worth knowing) unless their slot is wanted. Nothing here throws.
import type { Log } from '../../runtime/log';
import type { RaceState, Slot } from './race-state';
import type { Parsed } from './schemas';

export type RaceResult<T> = { ok: true; value: T; from: string } | { ok: false; reason: string };

export interface RaceOptions {
  /** what is asked, for the log ("session list") */
  what: string;
  /** manage IPs in the order to ask them, local first */
  ips: string[];
  state: RaceState;
  log: Log;
  /** aborts what is still racing (the API budget of the pass is spent, or the client is closed) */
  signal: AbortSignal;
}

export const BUDGET_EMPTY = 'retry budget empty: no other SCVM asked (api.retryTokens)';

interface Request {
  ip: string;
  ctrl: AbortController;
  slot: Slot;
  started: number;
  /** the call is over: this request only feeds the latency window */
  lingering: boolean;
}

/** Ask the SCVMs one at a time (two with the hedge); the first valid answer wins. */
export function race<T>(
  opts: RaceOptions,
  attempt: (ip: string, signal: AbortSignal) => Promise<Parsed<T>>,
): Promise<RaceResult<T>> {
  const { what, ips, state, log, signal: outer } = opts;
  return new Promise((resolve) => {
    const racing = new Set<Request>();
    const failures: string[] = [];
    let next = 0;
    let spent = 0;
    let hedgeDue = false;
    let budgetEmpty = false;
    let settled = false;
    let hedgeTimer: NodeJS.Timeout | undefined;
    let stopWaiting: (() => void) | undefined;

    const settle = (r: RaceResult<T>): void => {
      settled = true;
      clearTimeout(hedgeTimer);
      stopWaiting?.();
      outer.removeEventListener('abort', onAbort);
      resolve(r);
    };

    const fail = (): void => {
      const why = failures.length > 0 ? failures : [`abandoned (${reasonOf(outer)})`];
      settle({ ok: false, reason: [...why, ...(budgetEmpty ? [BUDGET_EMPTY] : [])].join('; ') });
    };

    /** Start what should run now: one request, two once the hedge is due; stop when nothing runs or can. */
    const pump = (): void => {
      if (settled) return;
      const want = hedgeDue ? 2 : 1;
      while (!outer.aborted && !budgetEmpty && racing.size < want && next < ips.length) {
        const first = next === 0;
        const slot = state.slots.take(first);
        if (!slot) {
          stopWaiting ??= state.slots.whenFree(() => {
            stopWaiting = undefined;
            pump();
          });
          return;
        }
        if (!first && !state.budget.take()) {
          slot.release();
          budgetEmpty = true;
          log.debug(`ZBS API: ${what}: ${BUDGET_EMPTY}`);
          break;
        }
        if (!first) spent++;
        start(ips[next++] as string, slot);
      }
      if (racing.size === 0 && (outer.aborted || budgetEmpty || next >= ips.length)) fail();
    };

    const start = (ip: string, slot: Slot): void => {
      const q: Request = { ip, ctrl: new AbortController(), slot, started: state.clock(), lingering: false };
      racing.add(q);
      attempt(ip, q.ctrl.signal).then(
        (r) => finished(q, r),
        (e: unknown) => finished(q, { ok: false, reason: `unexpected: ${(e as Error).message}` }),
      );
      if (!hedgeDue && next < ips.length) {
        clearTimeout(hedgeTimer);
        hedgeTimer = setTimeout(() => {
          hedgeDue = true;
          pump();
        }, state.latency.hedgeDelayMs());
      }
    };

    const finished = (q: Request, r: Parsed<T>): void => {
      racing.delete(q);
      if (r.ok) state.latency.record(state.clock() - q.started);
      q.slot.release();
      if (q.lingering || settled) return;
      if (r.ok) {
        state.budget.answered(spent);
        for (const other of racing) {
          other.lingering = true;
          other.slot.linger(() => other.ctrl.abort(new Error(`its slot was wanted after ${q.ip} answered`)));
        }
        racing.clear();
        settle({ ok: true, value: r.value, from: q.ip });
        return;
      }
      failures.push(r.reason);
      log.debug(`ZBS API: ${what} from ${q.ip} unavailable: ${r.reason}`);
      if (!hedgeDue) clearTimeout(hedgeTimer); // the request it timed has failed; the next one gets its own
      pump();
    };

    function onAbort(): void {
      for (const q of racing) q.ctrl.abort(outer.reason);
      pump();
    }

    if (ips.length === 0) return resolve({ ok: false, reason: 'no SCVM manage IP configured' });
    outer.addEventListener('abort', onAbort, { once: true });
    pump();
  });
}

function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
}
