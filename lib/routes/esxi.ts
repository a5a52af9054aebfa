// ESXi route backend: esxcfg-route (or esxcli where esxcfg-route is missing). ESXi has no "replace", so a switch
// is delete-then-add, and a failed add puts the old route back at once.
import { CommandError, RouteError } from '../errors';
import {
  esxiVipNextHops,
  parseEsxcfgRouteList,
  parseEsxcliRouteList,
  parseVmknicList,
  vmknicHostIps,
} from './esxi-parse';
import type { RouteObservation } from '../types';
import { alreadyRight, attempt, readCommand, requireIPv4, unchanged } from './commands';
import type { BackendDeps, RouteBackend, SwitchResult } from './types';

/** The ESXi tool that lists and changes routes. */
export type EsxiRouteTool = 'esxcfg-route' | 'esxcli';

const ESXCLI_ROUTE = ['esxcli', 'network', 'ip', 'route', 'ipv4'];

/** Reads and moves the VIP route on an ESXi host. */
export class EsxiRouteBackend implements RouteBackend {
  readonly platform = 'esxi' as const;

  constructor(
    private readonly deps: BackendDeps,
    readonly tool: EsxiRouteTool,
  ) {}

  private get net(): string {
    return `${this.deps.vip}/32`;
  }

  private listArgv(): string[] {
    return this.tool === 'esxcfg-route' ? ['esxcfg-route', '-l'] : [...ESXCLI_ROUTE, 'list'];
  }

  private addArgv(gw: string): string[] {
    return this.tool === 'esxcfg-route'
      ? ['esxcfg-route', '-a', this.net, gw]
      : [...ESXCLI_ROUTE, 'add', '--gateway', gw, '--network', this.net];
  }

  private deleteArgv(gw: string): string[] {
    return this.tool === 'esxcfg-route'
      ? ['esxcfg-route', '-d', this.net, gw]
      : [...ESXCLI_ROUTE, 'remove', '--gateway', gw, '--network', this.net];
  }

  async readVip(): Promise<RouteObservation> {
    const argv = this.listArgv();
    try {
      const r = await readCommand(this.deps.runner, argv);
      const parsed = this.tool === 'esxcfg-route' ? parseEsxcfgRouteList(r.stdout) : parseEsxcliRouteList(r.stdout);
      if (!parsed.ok) {
        this.deps.log.error(parsed.reason, { stdout: r.stdout });
        return { ok: false, reason: parsed.reason };
      }
      return { ok: true, nextHops: esxiVipNextHops(parsed.value, this.deps.vip) };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  async switchTo(nextHop: string, current: string[]): Promise<SwitchResult> {
    const { vip, log, dryRun, runner } = this.deps;
    requireIPv4(nextHop, 'the next hop of the VIP route');
    current.forEach((h) => requireIPv4(h, 'a current next hop of the VIP route'));
    if (nextHop === vip) throw new RouteError(`refusing to route ${vip} via itself`, { nextHop });
    if (alreadyRight(current, nextHop)) return unchanged(current, dryRun);

    const olds = current.filter((h) => h !== nextHop);
    const needAdd = !current.includes(nextHop);
    const plan = [...olds.map((h) => this.deleteArgv(h)), ...(needAdd ? [this.addArgv(nextHop)] : [])];
    if (dryRun) {
      plan.forEach((argv) => log.info(`dry run: would run "${argv.join(' ')}"`));
      return unchanged(current, true, plan);
    }

    const result: SwitchResult = { changed: false, dryRun: false, commands: [], before: [...current], after: [], restored: false };
    const issue = async (argv: string[]) => {
      result.commands.push(argv);
      log.info(`running "${argv.join(' ')}"`);
      return attempt(runner, argv);
    };
    const deleted: string[] = [];
    for (const old of olds) {
      const d = await issue(this.deleteArgv(old));
      if (d.ok) {
        deleted.push(old);
        continue;
      }
      // A delete that timed out may still have happened: only stop if a VIP route is really left.
      const seen = await this.readVip();
      if (!seen.ok || seen.nextHops.length > 0) {
        result.after = seen.ok ? seen.nextHops : [];
        result.changed = deleted.length > 0;
        throw new RouteError(`could not delete the route from ${vip} via ${old}: ${d.error}`, { result });
      }
      deleted.push(old);
      break;
    }

    if (needAdd) {
      const a = await issue(this.addArgv(nextHop));
      if (!a.ok) {
        result.changed = deleted.length > 0;
        const restore = await this.restore(deleted, issue);
        result.restored = restore.ok;
        const seen = await this.readVip();
        result.after = seen.ok ? seen.nextHops : [];
        const what = `adding the route from ${vip} to ${nextHop} failed: ${a.error}`;
        throw new RouteError(restore.ok ? `${what}; put back the route via ${deleted[0]}` : `${what}; ${restore.error}`, {
          result,
          addError: a.error,
          restoreError: restore.ok ? undefined : restore.error,
        });
      }
    }
    result.changed = true;

    const seen = await this.readVip();
    if (!seen.ok) throw new RouteError(`could not read back the route from ${vip} after the change: ${seen.reason}`, { result });
    result.after = seen.nextHops;
    if (!alreadyRight(seen.nextHops, nextHop)) {
      // Never leave the host without a VIP route: if nothing is there, put the old one back.
      if (seen.nextHops.length === 0) {
        const restore = await this.restore(deleted, issue);
        result.restored = restore.ok;
        const again = await this.readVip();
        result.after = again.ok ? again.nextHops : [];
      }
      throw new RouteError(
        `the route from ${vip} did not take: wanted via ${nextHop}, read back [${seen.nextHops.join(', ')}]`,
        { result },
      );
    }
    return result;
  }

  private async restore(
    deleted: string[],
    issue: (argv: string[]) => Promise<{ ok: true } | { ok: false; error: string }>,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    const old = deleted[0];
    if (old === undefined) return { ok: false, error: 'there was no old route to put back' };
    this.deps.log.warn(`putting back the route from ${this.deps.vip} via ${old}`);
    const r = await issue(this.addArgv(old));
    return r.ok ? r : { ok: false, error: `putting back the route via ${old} also failed: ${r.error}` };
  }

  async hostIps(): Promise<string[]> {
    const r = await readCommand(this.deps.runner, ['esxcfg-vmknic', '-l']);
    const parsed = parseVmknicList(r.stdout);
    if (!parsed.ok) throw new CommandError(parsed.reason, r);
    return vmknicHostIps(parsed.value, [this.deps.nfsHostIp]);
  }
}
