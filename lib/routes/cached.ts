// The route backend of the long-lived runner: the VIP route read at most every `maxAgeMs` (it only changes when a
// pass changes it, or by hand), host IPs every minute. A process per read (`ip`, `esxcfg-route`) every second would
// cost more CPU than the rest of the pass together. A switch never acts on what was cached: it reads the route again
// first, and does nothing when the route is already right.
import type { RouteObservation } from '../types';
import type { RouteBackend, SwitchResult } from './types';
import { alreadyRight, unchanged } from './commands';

const HOST_IPS_MAX_AGE_MS = 60_000;

export function cachedRoutes(backend: RouteBackend, maxAgeMs: number, now: () => number): RouteBackend {
  let route: { at: number; value: RouteObservation } | null = null;
  let hostIps: { at: number; value: string[] } | null = null;
  const fresh = async () => {
    const value = await backend.readVip();
    route = value.ok ? { at: now(), value } : null; // a failed read is not kept: the next pass reads again
    return value;
  };
  return {
    platform: backend.platform,
    async readVip() {
      return route && now() - route.at < maxAgeMs ? route.value : fresh();
    },
    async switchTo(nextHop, _believed): Promise<SwitchResult> {
      const seen = await fresh();
      const current = seen.ok ? seen.nextHops : _believed;
      if (alreadyRight(current, nextHop)) return unchanged(current, false);
      try {
        const r = await backend.switchTo(nextHop, current);
        route = { at: now(), value: { ok: true, nextHops: r.after } };
        return r;
      } catch (e) {
        route = null;
        throw e;
      }
    },
    async hostIps() {
      if (hostIps && now() - hostIps.at < HOST_IPS_MAX_AGE_MS) return hostIps.value;
      const value = await backend.hostIps();
      hostIps = { at: now(), value };
      return value;
    },
  };
}
