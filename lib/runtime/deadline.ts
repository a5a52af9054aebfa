// The deadline of one pass. Field incident: a child command escaped its kill and hung the agent for good. Every
// command and request has its own timeout; this is the bound on the whole pass, whatever it is waiting for.
import { DeadlineError } from '../errors';
import { killAllChildren } from './exec';
import { monotonicMs } from './host';
import type { Log } from './log';

export interface Deadline {
  /** what the pass is doing now: the deadline's message names it */
  step: string;
  /** rejects with DeadlineError when the pass runs past its deadline; never resolves */
  readonly expired: Promise<never>;
  /** Run `fn` as a critical section (a route switch half done): a deadline falling inside it waits one grace period. */
  critical<T>(fn: () => Promise<T>): Promise<T>;
  /** the error the deadline rejected with, once it has passed (a pass still ending records itself failed) */
  readonly error: DeadlineError | null;
  /** Milliseconds left before the deadline (0 once it has passed); the grace of a critical section is not counted. */
  leftMs(): number;
  /** The pass is over: disarm. */
  stop(): void;
}

/**
 * Arm a deadline of `ms`. When it passes, the commands the process started are killed, the log says what the pass was
 * doing, and `expired` rejects. Inside a critical section (ESXi's delete-then-add) it first grants `graceMs` once,
 * so the switch can finish or put the old route back.
 */
export function armDeadline(ms: number, graceMs: number, log: Log): Deadline {
  let fail: (e: DeadlineError) => void = () => undefined;
  const expired = new Promise<never>((_, reject) => (fail = reject));
  expired.catch(() => undefined); // awaited by the pass; a pass that ended first must not leave it unhandled
  let inCritical = 0;
  let graced = false;
  const fire = () => {
    if (inCritical > 0 && !graced) {
      graced = true;
      log.warn(`pass reached its deadline of ${ms} ms during a route switch; allowing ${graceMs} ms to finish it`);
      timer = setTimeout(fire, graceMs);
      return;
    }
    const err = new DeadlineError(`the pass (while ${d.step})`, ms);
    const killed = killAllChildren();
    log.error(`${err.message}; killed ${killed} child process group(s)`);
    d.error = err;
    fail(err);
  };
  const endsAt = monotonicMs() + ms;
  let timer = setTimeout(fire, ms);
  const d: { -readonly [K in keyof Deadline]: Deadline[K] } = {
    step: 'starting',
    error: null,
    expired,
    async critical(fn) {
      inCritical++;
      try {
        return await fn();
      } finally {
        inCritical--;
      }
    },
    leftMs: () => Math.max(0, endsAt - monotonicMs()),
    stop: () => clearTimeout(timer),
  };
  return d;
}
