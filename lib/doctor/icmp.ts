// A raw ICMP socket opens and the local SCVM answers, probed exactly as a pass probes (lib/observe/icmp/prober.ts).
// Without a config only the socket is tried, on loopback.
import { probe } from '../observe/icmp/prober';
import { fail, ok, warn, type Check } from './types';

const SOCKET_FIX = 'run as root (cron runs the agent as root); from the bundle, start it through its launcher bin/reroute';

export const icmpCheck: Check = {
  id: 'icmp',
  title: 'raw ICMP socket and local SCVM',
  deadlineMs: (ctx) => ctx.settings.probe.timeoutMs + 2000,
  async run(ctx) {
    const target = ctx.config?.local.dataIp ?? '127.0.0.1';
    let r;
    try {
      r = (await probe([target], ctx.settings.probe, ctx.log))[target]!;
    } catch (e) {
      return fail(`cannot open a raw ICMP socket: ${(e as Error).message}`, SOCKET_FIX);
    }
    if (r.error?.startsWith('raw socket unavailable')) return fail(r.error, SOCKET_FIX);
    const answers = `${r.received} of ${r.sent} echoes answered${r.rttAvgMs === null ? '' : `, rtt avg ${r.rttAvgMs.toFixed(2)} ms`}`;
    if (!ctx.config) {
      const socket = `raw ICMP socket open, ${target}: ${answers}`;
      return warn(`${socket}; the local SCVM not probed: no valid config`, 'fix the config (see the config line)');
    }
    if (!r.reachable) {
      return fail(
        `raw ICMP socket open, but the local SCVM ${target}: ${answers}${r.error ? ` (${r.error})` : ''}`,
        'check the local SCVM and the storage network; reroute probe shows every SCVM',
      );
    }
    return ok(`raw ICMP socket open; local SCVM ${target}: ${answers}`);
  },
};
