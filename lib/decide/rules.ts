// The priority table of docs/decision.md, as data: the first row whose check returns a choice decides the pass.
import type { Config } from '../config/schema';
import { dataUsable, manageUsable, type Icmp, type ScvmView } from './health';
import type { PinView } from './pin';
import type { LocalStatus, ReasonCode } from './state';
import { chooseRemote, type RemoteChoice } from './targets';

/** Where the route points before this pass. "foreign" = an address that is no known SCVM's. */
export type CurrentKind = 'none' | 'local' | 'remote' | 'secondary' | 'foreign';

/** Everything the rows look at; built once per pass by decide(). */
export interface RuleContext {
  config: Config;
  now: number;
  /** the operator's pin, judged this pass; null when there is none or it has expired */
  pin: PinView | null;
  rerouteEnabled: boolean;
  secondaryChannel: boolean;
  views: ScvmView[];
  sessionsEverSeen: boolean;
  /** ICMP verdict of any address this pass ("unknown" when it was not probed) */
  icmp: (ip: string) => Icmp;
  /** why there is no fresh session list this pass, or null when there is one */
  apiDown: string | null;
  localView: ScvmView;
  local: LocalStatus;
  localDown: boolean;
  /** session-only evidence against the local SCVM this pass, not confirmed yet ("session confirmation") */
  suspect: boolean;
  /** fresh lists that showed that evidence within decide.sessionConfirmSec, this one included */
  sightings: number;
  /** the local SCVM failed before and has not been healthy for its required period since (or is suspect now) */
  localOwesPeriod: boolean;
  /** seconds of the current healthy streak, null when there is none */
  healthySec: number | null;
  requiredSec: number;
  current: { ip: string | null; kind: CurrentKind; view: ScvmView | null };
  /** what the NFS data-path checks through the current target say, in words */
  nfsWhy: string;
}

/** What a row decided. */
interface Choice {
  target: string;
  reason: ReasonCode;
  because: string;
}

/** One row of the table. */
export interface Rule {
  row: number;
  name: string;
  check: (ctx: RuleContext) => Choice | null;
}

function localWords(ctx: RuleContext): string {
  const ip = ctx.config.local.dataIp;
  switch (ctx.local) {
    case 'icmp-down':
      return `local SCVM ${ip} does not answer ping`;
    case 'nfs-down':
      return `local SCVM ${ip} answers ping but not NFS (${ctx.nfsWhy})`;
    case 'session-missing':
      return `local SCVM ${ip} answers ping but the session list has no session for it${confirmWords(ctx)}`;
    case 'session-dead':
      return `local SCVM ${ip} answers ping but its session is not alive${confirmWords(ctx)}`;
    case 'healthy':
      return `local SCVM ${ip} answers ping and its session is alive`;
    case 'unknown':
      return ctx.localDown
        ? `local SCVM ${ip} answers ping but was last seen without a live session (no fresh session list: ${ctx.apiDown ?? 'not probed'})`
        : `local SCVM ${ip} answers ping; no fresh session list to confirm its session (${ctx.apiDown ?? 'local not probed'})`;
  }
}

function confirmWords(ctx: RuleContext): string {
  if (!ctx.suspect) return '';
  const d = ctx.config.decide;
  return ` (not confirmed: ${ctx.sightings} of ${d.sessionConfirmLists} fresh lists within ${d.sessionConfirmSec} s)`;
}

function streakWords(ctx: RuleContext): string {
  if (ctx.localDown || ctx.healthySec === null) return localWords(ctx);
  return `local SCVM ${ctx.config.local.dataIp} healthy for ${ctx.healthySec} s of the ${ctx.requiredSec} s needed`;
}

function currentIcmp(ctx: RuleContext): Icmp {
  const { ip, kind, view } = ctx.current;
  if (ip === null) return 'unknown';
  if (kind === 'remote' && view) return view.dataIcmp;
  if (kind === 'secondary' && view) return view.manageIcmp;
  return ctx.icmp(ip);
}

function failedWords(ctx: RuleContext): string {
  const { ip, kind, view } = ctx.current;
  if (ip === null) return 'there is no route to the NFS VIP';
  if (kind === 'foreign' || !view) return `current next hop ${ip} is not a known SCVM address`;
  const icmp = currentIcmp(ctx);
  if (icmp === 'down') return `current target ${ip} does not answer ping`;
  if (view.alive === false) return `current target ${ip} has no live session`;
  if (view.nfs === 'failed') return `current target ${ip} does not answer NFS (${ctx.nfsWhy})`;
  if (icmp === 'unknown') return `current target ${ip} was not probed`;
  return `current target ${ip} is not usable`;
}

const usableData = (ctx: RuleContext) => (v: ScvmView) => dataUsable(v, ctx.sessionsEverSeen);
const usableManage = (ctx: RuleContext) => (v: ScvmView) => manageUsable(v, ctx.sessionsEverSeen);

function bestRemote(ctx: RuleContext): RemoteChoice | null {
  return chooseRemote(ctx.views, ctx.config, usableData(ctx));
}

function currentHealthy(ctx: RuleContext): boolean {
  const v = ctx.current.view;
  if (!v) return false;
  if (ctx.current.kind === 'remote') return usableData(ctx)(v);
  if (ctx.current.kind === 'secondary') return usableManage(ctx)(v);
  return false;
}

function outReason(local: LocalStatus): ReasonCode {
  if (local === 'icmp-down') return 'local-icmp-down';
  if (local === 'nfs-down') return 'local-nfs-down';
  if (local === 'session-dead') return 'local-session-dead';
  return 'local-session-missing';
}

const rerouted = (ctx: RuleContext) => ctx.current.kind !== 'local' && ctx.current.kind !== 'none';
/** The local SCVM answers ping and is not down by the last evidence. */
const localAnswers = (ctx: RuleContext) => !ctx.localDown && ctx.localView.dataIcmp === 'up';
const localStable = (ctx: RuleContext) =>
  ctx.local === 'healthy' && ctx.healthySec !== null && ctx.healthySec >= ctx.requiredSec;

/**
 * Row 1. "Disabled" means no new switch away from the local SCVM: stay where the route is while the local SCVM is
 * not healthy, go back only to a local SCVM healthy for its stable period, never move onto a target that fails ping.
 * The only move: off a current target that fails ping (or no route), to a healthy local SCVM, else a healthy remote.
 */
function whileDisabled(ctx: RuleContext): Choice {
  const home = ctx.config.local.dataIp;
  const off = 'reroute is disabled by the cluster (enable_reroute off)';
  const cur = ctx.current.ip;
  if (ctx.current.kind === 'local') {
    const why = ctx.localDown ? `; ${localWords(ctx)}, but disabled means no switch away from it` : '';
    return { target: home, reason: 'reroute-disabled', because: `${off}: the route stays on the local SCVM ${home}${why}` };
  }
  if (cur !== null && currentIcmp(ctx) !== 'down') {
    if (localStable(ctx)) {
      return {
        target: home,
        reason: 'reroute-disabled',
        because: `${off}: local SCVM ${home} healthy for ${ctx.healthySec} s (${ctx.requiredSec} s needed): going back`,
      };
    }
    return {
      target: cur,
      reason: 'reroute-disabled',
      because: `${off}: staying on ${cur} until the local SCVM is healthy for its stable period; ${streakWords(ctx)}`,
    };
  }
  const failed = failedWords(ctx);
  if (localAnswers(ctx) && !ctx.suspect) {
    return { target: home, reason: 'reroute-disabled-move', because: `${off}; ${failed}: going back to the local SCVM (${localWords(ctx)})` };
  }
  const best = bestRemote(ctx);
  if (best) {
    return {
      target: best.scvm.dataIp,
      reason: 'reroute-disabled-move',
      because: `${off}; ${failed} and ${localWords(ctx)}: moving to ${best.scvm.dataIp} (${best.why})`,
    };
  }
  if (localAnswers(ctx)) {
    return { target: home, reason: 'reroute-disabled-move', because: `${off}; ${failed} and no remote SCVM is usable: going to the local SCVM (${localWords(ctx)})` };
  }
  if (cur !== null) {
    return { target: cur, reason: 'no-healthy-target', because: `${off}; ${failed} and no healthy target (${localWords(ctx)}): keeping the route via ${cur}, never deleting it` };
  }
  return { target: home, reason: 'no-route-fallback', because: `${off}; ${failed} and no healthy target (${localWords(ctx)}): adding it via the local SCVM ${home} so the host is never left without one` };
}

/** Row 2. A pin whose target fails is held for decide.pinGraceSec (a --force pin for good), never moved onto. */
function whilePinned(ctx: RuleContext): Choice | null {
  const pin = ctx.pin;
  if (!pin) return null;
  const until = pin.until === null ? 'until `reroute route --auto`' : `until ${new Date(pin.until).toISOString()}`;
  if (pin.failing === null) return { target: pin.target, reason: 'pinned', because: `pinned by an operator to ${pin.target} ${until}` };
  const failing = `${pin.failing} (for ${pin.failingSec} s)`;
  if (pin.force) {
    return {
      target: pin.target,
      reason: 'pinned-failing',
      because: `pinned with --force to ${pin.target} ${until}, although ${failing}: a --force pin stays until \`reroute route --auto\``,
    };
  }
  // Past the grace time LOOP decides (decide() clears the pin once LOOP finds a healthy target); before it, the pin
  // holds the route where it is but never moves it onto the failing target.
  if (pin.graceOver || ctx.current.ip !== pin.target) return null;
  const left = ctx.config.decide.pinGraceSec - (pin.failingSec ?? 0);
  return {
    target: pin.target,
    reason: 'pinned-failing',
    because: `pinned by an operator to ${pin.target} ${until}, but ${failing}: the pin holds ${left} s more, then LOOP takes over if a healthy target exists`,
  };
}

/** The priority table. Row numbers match docs/decision.md and tests/decide/rules.test.ts. */
export const RULES: Rule[] = [
  {
    row: 1,
    name: 'reroute disabled by the cluster: no switch away from the local SCVM',
    check: (ctx) => (ctx.rerouteEnabled ? null : whileDisabled(ctx)),
  },
  {
    row: 2,
    name: 'pinned by an operator',
    check: whilePinned,
  },
  {
    row: 3,
    name: 'rerouted and local stable long enough: go back',
    check: (ctx) =>
      rerouted(ctx) && localStable(ctx)
        ? {
            target: ctx.config.local.dataIp,
            reason: 'local-stable',
            because: `local SCVM ${ctx.config.local.dataIp} healthy for ${ctx.healthySec} s (${ctx.requiredSec} s needed): going back`,
          }
        : null,
  },
  {
    row: 4,
    name: 'on local and local not down: keep',
    check: (ctx) => {
      if (ctx.current.kind !== 'local' || ctx.localDown) return null;
      const target = ctx.config.local.dataIp;
      if (ctx.local === 'healthy') return { target, reason: 'local-ok', because: localWords(ctx) };
      if (ctx.suspect) {
        return {
          target,
          reason: 'local-session-unconfirmed',
          because: `${localWords(ctx)}: one session list is not enough to switch (ping loss would be)`,
        };
      }
      return { target, reason: 'local-unconfirmed', because: `${localWords(ctx)}: an API failure is never a reason to switch` };
    },
  },
  {
    row: 5,
    name: 'on local (or no route) and local down: fast out to the best remote',
    check: (ctx) => {
      if ((ctx.current.kind !== 'local' && ctx.current.kind !== 'none') || !ctx.localDown) return null;
      const best = bestRemote(ctx);
      if (!best) return null;
      return {
        target: best.scvm.dataIp,
        reason: outReason(ctx.local === 'unknown' ? 'session-missing' : ctx.local),
        because: `${localWords(ctx)}: switching to ${best.scvm.dataIp} (${best.why})`,
      };
    },
  },
  {
    row: 6,
    name: 'on a healthy remote data IP: keep (stickiness)',
    check: (ctx) =>
      ctx.current.kind === 'remote' && currentHealthy(ctx)
        ? {
            target: ctx.current.ip!,
            reason: 'remote-ok',
            because: `staying on ${ctx.current.ip} (answers ping, session alive); ${streakWords(ctx)}`,
          }
        : null,
  },
  {
    row: 7,
    name: 'on a management IP and a remote data IP is usable again: leave the secondary channel',
    check: (ctx) => {
      if (ctx.current.kind !== 'secondary') return null;
      const best = bestRemote(ctx);
      if (!best) return null;
      return {
        target: best.scvm.dataIp,
        reason: 'leave-secondary',
        because: `data IP ${best.scvm.dataIp} is usable again: leaving management IP ${ctx.current.ip} (${best.why})`,
      };
    },
  },
  {
    row: 8,
    name: 'on a healthy management IP: keep',
    check: (ctx) =>
      ctx.current.kind === 'secondary' && currentHealthy(ctx)
        ? {
            target: ctx.current.ip!,
            reason: 'secondary-ok',
            because: `staying on management IP ${ctx.current.ip}: no SCVM data IP is usable; ${streakWords(ctx)}`,
          }
        : null,
  },
  {
    row: 9,
    name: 'current target failed (or no route), local down or owing its stable period: move to the best remote',
    check: (ctx) => {
      if (ctx.current.kind === 'local') return null;
      if (localAnswers(ctx) && !ctx.localOwesPeriod) return null;
      const best = bestRemote(ctx);
      if (!best) return null;
      return {
        target: best.scvm.dataIp,
        reason: 'remote-failed-move',
        because: `${failedWords(ctx)} and ${streakWords(ctx)}: moving to ${best.scvm.dataIp} (${best.why})`,
      };
    },
  },
  {
    row: 10,
    name: 'current target failed (or no route) and local answers: local (before its stable period only when no remote is usable)',
    check: (ctx) => {
      if (ctx.current.kind === 'local' || !localAnswers(ctx)) return null;
      const target = ctx.config.local.dataIp;
      if (ctx.localOwesPeriod) {
        return {
          target,
          reason: 'remote-failed-local-early',
          because: `${failedWords(ctx)} and no remote SCVM is usable; ${streakWords(ctx)}: going to the local SCVM before its stable period`,
        };
      }
      const settled =
        ctx.healthySec !== null && ctx.healthySec >= ctx.requiredSec
          ? `local SCVM ${target} healthy for ${ctx.healthySec} s (${ctx.requiredSec} s needed)`
          : `${localWords(ctx)} and has not failed before`;
      return { target, reason: 'remote-failed-go-local', because: `${failedWords(ctx)}; ${settled}: going to the local SCVM` };
    },
  },
  {
    row: 11,
    name: 'no data IP usable: secondary data channel via a management IP',
    check: (ctx) => {
      if (!ctx.secondaryChannel || ctx.current.kind === 'secondary') return null;
      const best = chooseRemote(ctx.views, ctx.config, usableManage(ctx));
      if (!best || !best.scvm.manageIp) return null;
      return {
        target: best.scvm.manageIp,
        reason: 'secondary-channel',
        because: `no SCVM data IP is usable (${localWords(ctx)}); the cluster allows the secondary data channel: routing via management IP ${best.scvm.manageIp} of SCVM ${best.scvm.dataIp} (${best.why})`,
      };
    },
  },
  {
    row: 12,
    name: 'no healthy target: keep the current route, never delete it',
    check: (ctx) =>
      ctx.current.ip !== null
        ? {
            target: ctx.current.ip,
            reason: 'no-healthy-target',
            because: `no healthy target (${localWords(ctx)}; no remote SCVM usable): keeping the route via ${ctx.current.ip}, never deleting it`,
          }
        : null,
  },
  {
    row: 13,
    name: 'no route and no healthy target: add the route via the local SCVM',
    check: (ctx) => ({
      target: ctx.config.local.dataIp,
      reason: 'no-route-fallback',
      because: `there is no route to the NFS VIP and no healthy target (${localWords(ctx)}): adding it via the local SCVM ${ctx.config.local.dataIp} so the host is never left without one`,
    }),
  },
];

/** Run the table: the first row that decides wins; row 13 always does. */
export function applyRules(ctx: RuleContext): Choice & { row: number } {
  for (const rule of RULES) {
    const c = rule.check(ctx);
    if (c) return { ...c, row: rule.row };
  }
  throw new Error('unreachable: row 13 always decides');
}
