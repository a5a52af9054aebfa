// One delivery channel (syslog, the hook): its items run one at a time, in order, outside the pass. The queue is
// bounded: past `max` the oldest waiting item is dropped and counted, so a hook that hangs every time costs its
// timeout per event and a bounded memory, never a pass or a failover.

export interface ChannelStats {
  failed: number;
  dropped: number;
}

export class OneAtATime<T> {
  private readonly waiting: T[] = [];
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly stats: ChannelStats = { failed: 0, dropped: 0 };

  constructor(
    private readonly max: number,
    /** deliver one item; a throw is counted as failed */
    private readonly deliver: (item: T) => Promise<void>,
    /** called as an item starts (the caller notes it as told: it is never run twice) or is dropped */
    private readonly onStart: (item: T, dropped: T[]) => void,
    private readonly onError: (item: T, e: Error) => void,
  ) {}

  push(items: T[]): void {
    if (this.stopped) return;
    this.waiting.push(...items);
    const dropped = this.waiting.length > this.max ? this.waiting.splice(0, this.waiting.length - this.max) : [];
    this.stats.dropped += dropped.length;
    if (dropped.length > 0) this.onStart(dropped[dropped.length - 1]!, dropped);
    this.kick();
  }

  /** Items not started yet. */
  get pending(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  /** Wait until everything queued is done, or `ms` passed; true when done. */
  async drain(ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    while (this.running && performance.now() < until) {
      await Promise.race([this.running, new Promise((r) => setTimeout(r, Math.max(0, until - performance.now())).unref())]);
    }
    return this.running === null;
  }

  /** Start nothing more: what waits is left (the next process tells it); the one running runs out. */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
  }

  private kick(): void {
    if (this.running || this.waiting.length === 0) return;
    // after the current turn of the event loop: whatever called push (a pass) goes on first
    this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      while (this.waiting.length > 0) {
        const item = this.waiting.shift()!;
        this.onStart(item, []);
        try {
          await this.deliver(item);
        } catch (e) {
          this.stats.failed++;
          this.onError(item, e as Error);
        }
      }
      this.running = null;
    });
  }
}
