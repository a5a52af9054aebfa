// `reroute route`: ROUTE mode. --target pins the NFS route to an SCVM and applies it in this same run; --auto removes
// the pin. A typo here would black-hole every VM on the host, so an unknown or silent target is refused without --force.
import type { Config } from '../../config/schema';
import type { EngineState } from '../../decide';
import { UsageError } from '../../errors';
import { isIPv4 } from '../../net/ipv4';
import { probe } from '../../observe/icmp/prober';
import { describeFallback } from '../../config/last-good';
import { openAgent } from '../../pass/agent';
import { runPass, type PassReport } from '../../pass/pass';
import { parseDuration } from '../duration';
import { onExitFlush } from '../exit';
import type { CommandEnv } from '../context';

export interface RouteOptions {
  target?: string;
  for?: string;
  force?: boolean;
  auto?: boolean;
  reason?: string;
}

/** Who pins, from where: sudo's caller before the login name; the SSH client's address when over SSH. */
export function pinAudit(env: NodeJS.ProcessEnv): { by: string | null; from: string | null } {
  const clean = (v: string | undefined) => (v && /^[\w.@-]{1,64}$/.test(v) ? v : null);
  const by = clean(env.SUDO_USER) ?? clean(env.LOGNAME) ?? clean(env.USER);
  const from = env.SSH_CLIENT?.split(' ')[0];
  return { by, from: from && /^[0-9a-fA-F.:]{2,64}$/.test(from) ? from : null };
}

/** Every address the agent knows as an SCVM's (config and the last session lists). */
export function knownScvmAddresses(config: Config, engine: EngineState): Set<string> {
  const known = new Set<string>([config.local.dataIp, config.local.manageIp]);
  for (const s of config.scvms) known.add(s.dataIp).add(s.manageIp);
  for (const s of engine.sessions.known) {
    known.add(s.dataIp);
    if (s.manageIp) known.add(s.manageIp);
  }
  return known;
}

function describe(report: PassReport, vip: string): string {
  const d = report.decision;
  const from = d.from.join(',') || 'none';
  switch (report.switched) {
    case 'yes':
      return `route ${vip} moved from ${from} to ${d.nextHop} (${d.because})`;
    case 'failed':
      return `route ${vip} could NOT be moved to ${d.nextHop}; it stays via ${from} (see the log)`;
    case 'dry-run':
      return `dry run: route ${vip} would move from ${from} to ${d.nextHop} (${d.because})`;
    default:
      return `route ${vip} stays via ${from} (${d.because})`;
  }
}

/** Pin (or unpin) and apply now. */
export async function run(opts: RouteOptions, env: CommandEnv): Promise<number> {
  if (opts.auto && (opts.target !== undefined || opts.for !== undefined)) {
    throw new UsageError('route: --auto cannot be combined with --target or --for');
  }
  if (!opts.auto && opts.target === undefined) {
    throw new UsageError('route: give --target <ip> to pin the route, or --auto to hand control back to LOOP');
  }
  if (opts.target !== undefined && !isIPv4(opts.target)) {
    throw new UsageError(`route: --target "${opts.target}" is not a dotted-quad IPv4 address (e.g. 10.10.85.16)`);
  }
  const forMs = opts.for !== undefined ? parseDuration(opts.for, '--for') : null;
  if (opts.reason !== undefined && (opts.auto || !/^\P{Cc}{1,200}$/u.test(opts.reason))) {
    throw new UsageError(
      opts.auto ? 'route: --reason goes with --target' : 'route: --reason wants one line of at most 200 characters (e.g. --reason "SCVM-1 disk replacement, CHG-1234")',
    );
  }
  const audit = pinAudit(process.env);

  const agent = await openAgent(env.globals);
  onExitFlush(() => agent.log.flush(), agent.log);
  const { config, log } = agent;
  if (agent.fallback) env.display.err(`warning: ${describeFallback(agent.fallback)}`);
  if (opts.target !== undefined && !opts.force) {
    // Checked before the pass: the probe takes up to probe.timeoutMs, which the pass's lock need not wait for.
    const target = opts.target;
    const r = (await probe([target], config.probe, log))[target];
    if (!r?.reachable) {
      throw new UsageError(
        `route: ${target} does not answer ICMP now (${r?.received ?? 0}/${r?.sent ?? 0} replies${r?.error ? `, ${r.error}` : ''}); check it, or add --force`,
      );
    }
  }
  let said = '';
  const report = await runPass(agent, { waitForLock: true, edit: (state, now) => {
    if (opts.auto) {
      if (state.pin) log.info(`route --auto: pin to ${state.pin.target} removed${audit.by ? ` by ${audit.by}` : ''}${audit.from ? ` from ${audit.from}` : ''}; LOOP mode decides`);
      said = state.pin ? `pin to ${state.pin.target} removed: LOOP mode` : 'no pin was set: LOOP mode';
      state.pin = null;
      return;
    }
    const target = opts.target!;
    if (!opts.force && !knownScvmAddresses(config, state.engine).has(target)) {
      throw new UsageError(
        `route: ${target} is not a known SCVM address (config local/scvms or the session list); check it, or add --force`,
      );
    }
    state.pin = { target, until: forMs === null ? null : now + forMs, setAt: now, force: opts.force === true, ...audit, reason: opts.reason ?? null };
    log.info(
      `route --target ${target}${opts.force ? ' --force' : ''}: pinned ${forMs === null ? 'until route --auto' : `for ${opts.for}`}` +
        `${audit.by ? ` by ${audit.by}` : ''}${audit.from ? ` from ${audit.from}` : ''}${opts.reason ? ` (reason: ${opts.reason})` : ''}`,
    );
    said = `pinned to ${target}${forMs === null ? ' until `reroute route --auto`' : ` for ${opts.for}`}`;
  } });
  env.display.out(said);
  env.display.out(describe(report, config.nfsVip));
  return report.switched === 'failed' ? 1 : 0;
}
