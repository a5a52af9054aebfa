// Only the part of undici a pass uses: its Agent and its request(). The package's index loads fetch, websockets,
// caches and mocks as well, which cost every cron run about 9 MB of RSS and 40 ms (scripts/bench-pass).
// Deep paths of undici 7 (pinned in package.json); the types come from the package's own declarations.
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

/* eslint-disable @typescript-eslint/no-require-imports */
const AgentClass = require('undici/lib/dispatcher/agent') as typeof UndiciAgent;
const apiRequest = require('undici/lib/api/api-request') as (
  this: Dispatcher,
  opts: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;
/* eslint-enable @typescript-eslint/no-require-imports */

/** A new undici Agent. */
export function createAgent(opts: UndiciAgent.Options): UndiciAgent {
  return new AgentClass(opts);
}

/** undici's request() through the given dispatcher. */
export function request(dispatcher: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return apiRequest.call(dispatcher, opts);
}
