// ESXi route backend: esxcfg-route (or esxcli where esxcfg-route is missing). ESXi has no "replace", so a switch
// is delete-then-add, and a failed add puts the old route back at once, retried within the pass (docs/routes.md).
import { CommandError, RouteError } from '../errors';
import {
  esxiVipNextHops,
  parseEsxcfgRouteList,
  parseEsxcliRouteList,
  parseVmknicList,
  vmknicHostIps,
} from './esxi-parse';
import type { RouteObservation } from '../types';
import { monotonicMs } from '../runtime/host';
import { alreadyRight, attempt, readCommand, requireIPv4, unchanged, type Attempt } from './commands';
import type { BackendDeps, RouteBackend, SwitchOptions, SwitchResult } from './types';

/** The ESXi tool that lists and changes routes. */
export type EsxiRouteTool = 'esxcfg-route' | 'esxcli';

const ESXCLI_ROUTE = ['esxcli', 'network', 'ip', 'route', 'ipv4'];

/** Attempts at putting the old route back after a failed add, and the pause between two of them. */
const RESTORE_ATTEMPTS = 5;
const RESTORE_PAUSE_MS = 500;

/** What putting the old route back came to: the VIP's next hops after it, or every attempt's failure. */
type Restore = { ok: true; via: string[]; attempts: number } | { ok: false; error: string; attempts: number };

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

  async switchTo(nextHop: string, current: string[], opts: SwitchOptions = {}): Promise<SwitchResult> {
    const { vip, log, dryRun, runner } = this.deps;
    const until = monotonicMs() + (opts.budgetMs ?? Number.POSITIVE_INFINITY);
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
        const restore = await this.restore(deleted, issue, until);
        result.restored = putBack(restore, deleted);
        const seen = await this.readVip();
        result.after = seen.ok ? seen.nextHops : [];
        const what = `adding the route from ${vip} to ${nextHop} failed: ${a.error}`;
        throw new RouteError(`${what}; ${restoreWords(restore, deleted)}`, {
          result,
          addError: a.error,
          restoreError: restore.ok ? undefined : restore.error,
          restoreAttempts: restore.attempts,
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
        const restore = await this.restore(deleted, issue, until);
        result.restored = putBack(restore, deleted);
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

  /**
   * Put the old route back after a failed add. One failed attempt used to leave the host without a route until the
   * next pass (issue 15 case 6), so it is tried up to RESTORE_ATTEMPTS times, RESTORE_PAUSE_MS apart, while `until`
   * leaves room for another attempt and the read-back after it. Before each retry the table is read: a command that
   * failed or ran past its timeout may have taken effect all the same, and any VIP route there ends the retries.
   */
  private async restore(deleted: string[], issue: (argv: string[]) => Promise<Attempt>, until: number): Promise<Restore> {
    const { vip, log, commandTimeoutMs } = this.deps;
    const old = deleted[0];
    if (old === undefined) return { ok: false, error: 'there was no old route to put back', attempts: 0 };
    let error = '';
    let attempts = 0;
    while (attempts < RESTORE_ATTEMPTS) {
      if (attempts > 0) {
        // this retry: the pause, a read, the add; then the switch's own read-back
        if (monotonicMs() + RESTORE_PAUSE_MS + 3 * commandTimeoutMs > until) {
          log.warn(`no time left in this pass for another try at putting back the route from ${vip} via ${old}`);
          break;
        }
        await sleep(RESTORE_PAUSE_MS);
        const seen = await this.readVip();
        if (seen.ok && seen.nextHops.length > 0) {
          log.warn(`the route from ${vip} is there after all, via ${seen.nextHops.join(', ')}: no more tries`);
          return { ok: true, via: seen.nextHops, attempts };
        }
      }
      attempts++;
      log.warn(`putting back the route from ${vip} via ${old} (attempt ${attempts} of ${RESTORE_ATTEMPTS})`);
      const r = await issue(this.addArgv(old));
      if (r.ok) return { ok: true, via: [old], attempts };
      error = r.error;
      log.error(`putting back the route from ${vip} via ${old} failed (attempt ${attempts} of ${RESTORE_ATTEMPTS}): ${error}`);
    }
    return { ok: false, error: `putting back the route via ${old} also failed (${attempts} attempts; last: ${error})`, attempts };
  }

  async hostIps(): Promise<string[]> {
    const r = await readCommand(this.deps.runner, ['esxcfg-vmknic', '-l']);
    const parsed = parseVmknicList(r.stdout);
    if (!parsed.ok) throw new CommandError(parsed.reason, r);
    return vmknicHostIps(parsed.value, [this.deps.nfsHostIp]);
  }
}

/** The old route is back (not merely some route: a failed add may have taken effect after all). */
function putBack(r: Restore, deleted: string[]): boolean {
  return r.ok && deleted[0] !== undefined && r.via.includes(deleted[0]);
}

function restoreWords(r: Restore, deleted: string[]): string {
  if (!r.ok) return r.error;
  if (!putBack(r, deleted)) return `the route is there via ${r.via.join(', ')} after all`;
  return `put back the route via ${deleted[0]}${r.attempts > 1 ? ` (attempt ${r.attempts})` : ''}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
