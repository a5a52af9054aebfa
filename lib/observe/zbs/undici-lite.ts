// Only the part of undici a pass uses: its Agent and its request(). The package's index loads fetch, websockets,
// caches and mocks as well, which cost every cron run about 9 MB of RSS and 40 ms (scripts/bench-pass).
// Loaded at the first request, not with the agent: a one-pass `loop` that reuses the last session list and owes no
// heartbeat sends nothing, and loading undici costs it 11 ms (BENCHMARKS.md, "One pass").
// Deep paths of undici 7 (pinned in package.json); the types come from the package's own declarations.
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

type ApiRequest = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

let undici: { AgentClass: typeof UndiciAgent; apiRequest: ApiRequest } | null = null;

function load(): NonNullable<typeof undici> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return (undici ??= {
    AgentClass: require('undici/lib/dispatcher/agent') as typeof UndiciAgent,
    apiRequest: require('undici/lib/api/api-request') as ApiRequest,
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** A new undici Agent. */
export function createAgent(opts: UndiciAgent.Options): UndiciAgent {
  return new (load().AgentClass)(opts);
}

/** undici's request() through the given dispatcher. */
export function request(dispatcher: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return load().apiRequest.call(dispatcher, opts);
}
