// Linux / XenServer dom0 route backend: `ip route replace` is atomic, so there is never a moment without a route.
import { CommandError, RouteError } from '../errors';
import {
  linuxHostIps,
  linuxVipNextHops,
  linuxVipRoutes,
  parseIpAddrJson,
  parseIpRouteJson,
  type LinuxRoute,
} from './linux-parse';
import type { ParseResult } from './esxi-parse';
import type { RouteObservation } from '../types';
import { alreadyRight, attempt, readCommand, requireIPv4, unchanged } from './commands';
import type { BackendDeps, RouteBackend, SwitchResult } from './types';

/** Reads and moves the VIP route with iproute2 (main table). */
export class LinuxRouteBackend implements RouteBackend {
  readonly platform = 'linux' as const;

  constructor(
    private readonly deps: BackendDeps,
    /** argv prefix, e.g. ['ip'] or ['ip', '-n', 'ns1'] */
    private readonly ip: string[],
  ) {}

  private get net(): string {
    return `${this.deps.vip}/32`;
  }

  /** Every route of the main table whose destination is exactly the VIP /32. */
  async readRoutes(): Promise<ParseResult<LinuxRoute[]>> {
    const argv = [...this.ip, '-j', 'route', 'show', this.net];
    try {
      const r = await readCommand(this.deps.runner, argv);
      const parsed = parseIpRouteJson(r.stdout, argv.join(' '));
      if (!parsed.ok) this.deps.log.error(parsed.reason, { stdout: r.stdout });
      return parsed.ok ? { ok: true, value: linuxVipRoutes(parsed.value, this.deps.vip) } : parsed;
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  async readVip(): Promise<RouteObservation> {
    const routes = await this.readRoutes();
    if (!routes.ok) return { ok: false, reason: routes.reason };
    const deviceOnly = routes.value.filter((r) => r.type === 'unicast' && r.gateways.length === 0);
    if (deviceOnly.length > 0) {
      this.deps.log.warn(`the route to ${this.net} goes via a device only (${deviceOnly.map((r) => r.dev).join(', ')}), no next hop`);
    }
    return { ok: true, nextHops: linuxVipNextHops(routes.value, this.deps.vip) };
  }

  async switchTo(nextHop: string, current: string[]): Promise<SwitchResult> {
    const { vip, log, dryRun, runner } = this.deps;
    requireIPv4(nextHop, 'the next hop of the VIP route');
    current.forEach((h) => requireIPv4(h, 'a current next hop of the VIP route'));
    if (nextHop === vip) throw new RouteError(`refusing to route ${vip} via itself`, { nextHop });
    if (alreadyRight(current, nextHop)) return unchanged(current, dryRun);

    const replace = [...this.ip, 'route', 'replace', this.net, 'via', nextHop];
    if (dryRun) {
      log.info(`dry run: would run "${replace.join(' ')}"`);
      return unchanged(current, true, [replace]);
    }
    const result: SwitchResult = { changed: false, dryRun: false, commands: [], before: [...current], after: [], restored: false };
    const issue = (argv: string[]) => {
      result.commands.push(argv);
      log.info(`running "${argv.join(' ')}"`);
      return attempt(runner, argv);
    };
    const r = await issue(replace);
    if (!r.ok) {
      const seen = await this.readVip();
      result.after = seen.ok ? seen.nextHops : [];
      throw new RouteError(`could not route ${vip} via ${nextHop}: ${r.error}`, { result });
    }
    result.changed = true;

    // Routes at other metrics would make the VIP show several next hops and the pass switch again every run.
    const routes = await this.readRoutes();
    if (routes.ok) {
      const extras = routes.value.filter(
        (x) => x.type === 'unicast' && x.protocol !== 'redirect' && x.metric !== 0,
      );
      for (const x of extras) {
        const via = x.gateways.length === 1 ? ['via', x.gateways[0]!] : [];
        const d = await issue([...this.ip, 'route', 'del', this.net, ...via, 'metric', String(x.metric)]);
        if (!d.ok) log.warn(`could not remove the extra route to ${this.net} (metric ${x.metric}): ${d.error}`);
      }
    }

    const seen = await this.readVip();
    if (!seen.ok) throw new RouteError(`could not read back the route from ${vip} after the change: ${seen.reason}`, { result });
    result.after = seen.nextHops;
    if (!alreadyRight(seen.nextHops, nextHop)) {
      throw new RouteError(
        `the route from ${vip} did not take: wanted via ${nextHop}, read back [${seen.nextHops.join(', ')}]`,
        { result },
      );
    }
    return result;
  }

  async hostIps(): Promise<string[]> {
    const argv = [...this.ip, '-j', 'addr'];
    const r = await readCommand(this.deps.runner, argv);
    const parsed = parseIpAddrJson(r.stdout, argv.join(' '));
    if (!parsed.ok) throw new CommandError(parsed.reason, r);
    return linuxHostIps(parsed.value, [this.deps.nfsHostIp]);
  }
}
