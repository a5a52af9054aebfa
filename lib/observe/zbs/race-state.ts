// What the race over the SCVMs remembers from one call to the next (issue 18, "a bounded race"), one per process:
// - the latencies of recent answers, which set the hedge delay (The Tail at Scale: hedge after about the p95);
// - the retry budget, a token bucket as in the cloud SDKs: every extra request costs a token;
// - the API requests in flight, at most two at a time for the whole process (the first and one extra); a call's first
//   request never waits, so calls made while others still run can go past two (docs/api.md says when).
// Plain bookkeeping with the clock passed in; the race itself is in race.ts.
import type { Config } from '../../config/schema';

export type RaceSettings = Pick<Config['api'], 'hedgeFloorMs' | 'hedgeCeilingMs' | 'retryTokens' | 'retryRefillSec'>;

/** Requests in flight for the whole process: the first of a call and one extra (a hedge, or a retry). */
export const MAX_IN_FLIGHT = 2;

/** Answers the hedge delay is worked out from: about a minute of passes at one a second. */
const WINDOW = 50;

/** The latencies of the last WINDOW answers; the hedge delay is their 95th percentile, within floor and ceiling. */
export class LatencyWindow {
  private readonly seen: number[] = [];
  private nextSlot = 0;

  constructor(private readonly settings: RaceSettings) {}

  record(ms: number): void {
    if (this.seen.length < WINDOW) this.seen.push(ms);
    else this.seen[this.nextSlot] = ms;
    this.nextSlot = (this.nextSlot + 1) % WINDOW;
  }

  /** Nearest-rank 95th percentile of what was seen; null before the first answer. */
  p95(): number | null {
    if (this.seen.length === 0) return null;
    const sorted = [...this.seen].sort((a, b) => a - b);
    return sorted[Math.ceil(0.95 * sorted.length) - 1] as number;
  }

  /** How long the first request may stay unanswered before the hedge goes; the ceiling while nothing is known. */
  hedgeDelayMs(): number {
    const { hedgeFloorMs, hedgeCeilingMs } = this.settings;
    const p95 = this.p95();
    return p95 === null ? hedgeCeilingMs : Math.min(hedgeCeilingMs, Math.max(hedgeFloorMs, Math.ceil(p95)));
  }
}

/** A retry budget as one process hands it to the next (the runner's minute): its tokens at `at`, monotonic ms. */
export interface BudgetMemory {
  tokens: number;
  at: number;
}

/**
 * The retry budget: api.retryTokens tokens, one spent by every extra request. A call that gets an answer gives back
 * what it spent and one more; time gives one back every api.retryRefillSec. Empty: only the first request of a call.
 * A budget handed over by the last minute's process goes on from where it was, refilled for the time between: a new
 * process must not bring a full budget, every minute, to an API the last one found failing (a fleet's hosts would all
 * do so at the top of the minute).
 */
export class RetryBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly settings: RaceSettings,
    private readonly clock: () => number,
    handed?: BudgetMemory,
  ) {
    this.tokens = settings.retryTokens;
    this.at = clock();
    // a time to come is another boot's clock (or a damaged file): not believed
    if (handed && handed.at <= this.at) {
      this.tokens = Math.min(settings.retryTokens, handed.tokens);
      this.at = handed.at;
    }
  }

  /** What to hand to the next process. */
  memory(): BudgetMemory {
    this.refill();
    return { tokens: this.tokens, at: this.at };
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = Math.max(0, now - this.at);
    this.at = now;
    this.tokens = Math.min(this.settings.retryTokens, this.tokens + elapsed / (this.settings.retryRefillSec * 1000));
  }

  /** Tokens left (fractions are time's refill under way). */
  left(): number {
    this.refill();
    return this.tokens;
  }

  /** Spend one token; false (nothing spent) when less than one is left. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** A call got an answer after spending `spent` tokens. */
  answered(spent: number): void {
    this.refill();
    this.tokens = Math.min(this.settings.retryTokens, this.tokens + spent + 1);
  }
}

/** One request's place among the MAX_IN_FLIGHT. release() is idempotent. */
export interface Slot {
  release(): void;
  /** The call that started it is over, its answer only feeds the latency window: a new request may take its place. */
  linger(abort: () => void): void;
}

/** The requests in flight for the process, and the calls waiting for one of them to end. */
export class Slots {
  private used = 0;
  /** oldest first: the request given up first when a slot is needed */
  private readonly lingering = new Map<Slot, () => void>();
  private waiting: (() => void)[] = [];

  inFlight(): number {
    return this.used;
  }

  /**
   * A slot: a free one, else the oldest lingering request's (that request is aborted), else none. `first` (the first
   * request of a call, or a single call) always gets one: a call is never kept from asking one SCVM.
   */
  take(first: boolean): Slot | null {
    if (this.used >= MAX_IN_FLIGHT) {
      const [oldest] = this.lingering;
      if (oldest) {
        const [slot, abort] = oldest;
        slot.release();
        abort();
      }
    }
    if (this.used >= MAX_IN_FLIGHT && !first) return null;
    this.used++;
    let held = true;
    const slot: Slot = {
      release: () => {
        if (!held) return;
        held = false;
        this.used--;
        this.lingering.delete(slot);
        this.wakeWaiting();
      },
      linger: (abort) => {
        if (held) this.lingering.set(slot, abort);
      },
    };
    return slot;
  }

  /** Call `fn` once, after the next slot is freed; returns a function that cancels that. */
  whenFree(fn: () => void): () => void {
    this.waiting.push(fn);
    return () => {
      this.waiting = this.waiting.filter((w) => w !== fn);
    };
  }

  /** Abort every lingering request (the process is ending). */
  abortLingering(): void {
    for (const [slot, abort] of [...this.lingering]) {
      slot.release();
      abort();
    }
  }

  private wakeWaiting(): void {
    if (this.waiting.length === 0) return;
    const woken = this.waiting;
    this.waiting = [];
    // After the current call stack: the request that freed the slot may want it back for its own retry first.
    queueMicrotask(() => woken.forEach((fn) => fn()));
  }
}

/** All the race remembers; make one per process and hand it to every client (see docs/api.md "Which SCVM is asked"). */
export class RaceState {
  readonly latency: LatencyWindow;
  readonly budget: RetryBudget;
  readonly slots = new Slots();

  constructor(
    settings: RaceSettings,
    /** monotonic ms */
    readonly clock: () => number,
    handedBudget?: BudgetMemory,
  ) {
    this.latency = new LatencyWindow(settings);
    this.budget = new RetryBudget(settings, clock, handedBudget);
  }
}
