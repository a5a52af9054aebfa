// What one process keeps for the ZBS API across its passes: the connections and the race's memory (latencies, retry
// budget, requests in flight). The long-lived runner opens one and hands it to every pass's client; a client made
// without one opens its own and closes it with itself, which is the one-pass `loop` (docs/api.md "One link a process").
import type { Config } from '../../config/schema';
import { monotonicMs } from '../../runtime/host';
import { createHttp, type Http } from './http';
import { RaceState, type BudgetMemory } from './race-state';

export interface ZbsLink {
  http: Http;
  race: RaceState;
  /** Abort what still runs (requests left to finish after their call) and close every connection. */
  close(): Promise<void>;
}

/** Open the process's link to the API; close() it when the process ends. */
export function openZbsLink(api: Config['api'], opts: { http?: Http; clock?: () => number; budget?: BudgetMemory } = {}): ZbsLink {
  const http =
    opts.http ??
    createHttp({ scheme: api.scheme, port: api.port, connectTimeoutMs: api.connectTimeoutMs, maxBodyBytes: api.maxBodyBytes });
  const race = new RaceState(api, opts.clock ?? monotonicMs, opts.budget);
  return {
    http,
    race,
    async close() {
      race.slots.abortLingering();
      await http.close();
    },
  };
}
