// The route backend of the long-lived runner: the VIP route read at most every `maxAgeMs` (it only changes when a
// pass changes it, or by hand), host IPs every minute. A process per read (`ip`, `esxcfg-route`) every second would
// cost more CPU than the rest of the pass together. What comes from memory is marked `reused`: a pass never switches
// on it, it reads the route again and decides again (lib/pass/pass.ts).
import type { RouteObservation } from '../types';
import type { RouteBackend, SwitchResult } from './types';

const HOST_IPS_MAX_AGE_MS = 60_000;

export function cachedRoutes(backend: RouteBackend, maxAgeMs: number, now: () => number): RouteBackend {
  let route: { at: number; nextHops: string[] } | null = null;
  let hostIps: { at: number; value: string[] } | null = null;
  return {
    platform: backend.platform,
    async readVip(opts = {}): Promise<RouteObservation> {
      if (!opts.fresh && route && now() - route.at < maxAgeMs) return { ok: true, nextHops: route.nextHops, reused: true };
      const seen = await backend.readVip();
      route = seen.ok ? { at: now(), nextHops: seen.nextHops } : null; // a failed read is not kept: the next pass reads again
      return seen;
    },
    async switchTo(nextHop, current, opts): Promise<SwitchResult> {
      route = null; // whatever happens, the next read is fresh
      const r = await backend.switchTo(nextHop, current, opts);
      route = { at: now(), nextHops: r.after };
      return r;
    },
    async hostIps() {
      if (hostIps && now() - hostIps.at < HOST_IPS_MAX_AGE_MS) return hostIps.value;
      const value = await backend.hostIps();
      hostIps = { at: now(), value };
      return value;
    },
  };
}
