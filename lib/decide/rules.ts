// The priority table of docs/decision.md, as data: the first row whose check returns a choice decides the pass.
import type { Config } from '../config/schema';
import type { Pin } from '../types';
import { dataUsable, manageUsable, type ScvmView } from './health';
import type { LocalStatus, ReasonCode } from './state';
import { chooseRemote, type RemoteChoice } from './targets';

/** Where the route points before this pass. "foreign" = an address that is no known SCVM's. */
export type CurrentKind = 'none' | 'local' | 'remote' | 'secondary' | 'foreign';

/** Everything the rows look at; built once per pass by decide(). */
export interface RuleContext {
  config: Config;
  now: number;
  pin: Pin | null;
  rerouteEnabled: boolean;
  secondaryChannel: boolean;
  views: ScvmView[];
  sessionsEverSeen: boolean;
  /** why there is no fresh session list this pass, or null when there is one */
  apiDown: string | null;
  localView: ScvmView;
  local: LocalStatus;
  localDown: boolean;
  /** seconds of the current healthy streak, null when there is none */
  healthySec: number | null;
  requiredSec: number;
  current: { ip: string | null; kind: CurrentKind; view: ScvmView | null };
}

/** What a row decided. */
export interface Choice {
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
    case 'session-missing':
      return `local SCVM ${ip} answers ping but the session list has no session for it`;
    case 'session-dead':
      return `local SCVM ${ip} answers ping but its session is not alive`;
    case 'healthy':
      return `local SCVM ${ip} answers ping and its session is alive`;
    case 'unknown':
      return ctx.localDown
        ? `local SCVM ${ip} answers ping but was last seen without a live session (no fresh session list: ${ctx.apiDown ?? 'not probed'})`
        : `local SCVM ${ip} answers ping; no fresh session list to confirm its session (${ctx.apiDown ?? 'local not probed'})`;
  }
}

function streakWords(ctx: RuleContext): string {
  if (ctx.localDown || ctx.healthySec === null) return localWords(ctx);
  return `local SCVM ${ctx.config.local.dataIp} healthy for ${ctx.healthySec} s of the ${ctx.requiredSec} s needed`;
}

function failedWords(v: ScvmView | null, ip: string, ctx: RuleContext): string {
  if (!v) return `current next hop ${ip} is not a known SCVM address`;
  const icmp = ctx.current.kind === 'secondary' ? v.manageIcmp : v.dataIcmp;
  if (icmp === 'down') return `current target ${ip} does not answer ping`;
  if (v.alive === false) return `current target ${ip} has no live session`;
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
  if (local === 'session-dead') return 'local-session-dead';
  return 'local-session-missing';
}

const rerouted = (ctx: RuleContext) => ctx.current.kind !== 'local' && ctx.current.kind !== 'none';

/** The priority table. Row numbers match docs/decision.md and tests/decide/rules.test.ts. */
export const RULES: Rule[] = [
  {
    row: 1,
    name: 'reroute disabled by the cluster',
    check: (ctx) =>
      ctx.rerouteEnabled
        ? null
        : {
            target: ctx.config.local.dataIp,
            reason: 'reroute-disabled',
            because: `reroute is disabled by the cluster (enable_reroute off): the route stays on or returns to the local SCVM ${ctx.config.local.dataIp}`,
          },
  },
  {
    row: 2,
    name: 'pinned by an operator',
    check: (ctx) => {
      const pin = ctx.pin;
      if (!pin || (pin.until !== null && pin.until <= ctx.now)) return null;
      const until = pin.until === null ? 'until `reroute route --auto`' : `until ${new Date(pin.until).toISOString()}`;
      return { target: pin.target, reason: 'pinned', because: `pinned by an operator to ${pin.target} ${until}` };
    },
  },
  {
    row: 3,
    name: 'rerouted and local stable long enough: go back',
    check: (ctx) =>
      rerouted(ctx) && ctx.local === 'healthy' && ctx.healthySec !== null && ctx.healthySec >= ctx.requiredSec
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
    check: (ctx) =>
      ctx.current.kind === 'local' && !ctx.localDown
        ? {
            target: ctx.config.local.dataIp,
            reason: ctx.local === 'healthy' ? 'local-ok' : 'local-unconfirmed',
            because:
              ctx.local === 'healthy'
                ? localWords(ctx)
                : `${localWords(ctx)}: an API failure is never a reason to switch`,
          }
        : null,
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
    name: 'current target failed (or no route) and local not down: local at once',
    check: (ctx) => {
      if (ctx.current.kind === 'local' || ctx.localDown || ctx.localView.dataIcmp !== 'up') return null;
      const failed =
        ctx.current.kind === 'none' ? 'there is no route to the NFS VIP' : failedWords(ctx.current.view, ctx.current.ip!, ctx);
      return {
        target: ctx.config.local.dataIp,
        reason: 'remote-failed-go-local',
        because: `${failed}; ${streakWords(ctx)}: going to the local SCVM now rather than to another remote`,
      };
    },
  },
  {
    row: 10,
    name: 'current target failed and local down: move to the best remote',
    check: (ctx) => {
      if (ctx.current.kind === 'local' || ctx.current.kind === 'none') return null;
      const best = bestRemote(ctx);
      if (!best) return null;
      return {
        target: best.scvm.dataIp,
        reason: 'remote-failed-move',
        because: `${failedWords(ctx.current.view, ctx.current.ip!, ctx)} and ${localWords(ctx)}: moving to ${best.scvm.dataIp} (${best.why})`,
      };
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
