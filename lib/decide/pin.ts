// The operator's pin (ROUTE mode) as this pass sees it: active or expired, and whether its target is failing
// ("pin grace", issue 15 case 3).
import type { Config } from '../config/schema';
import type { Pin } from '../types';
import type { Icmp, ScvmView } from './health';
import type { EngineState, ReasonCode } from './state';

/** An active pin, judged this pass. */
export interface PinView {
  target: string;
  until: number | null;
  force: boolean;
  /** why the pinned target fails this pass (no ping, or its session known dead); null when it does not */
  failing: string | null;
  /** seconds since the pinned target was first seen failing in this run; null when it is not failing */
  failingSec: number | null;
  /** the grace time after the target failed is over (never for a --force pin): LOOP may take over */
  graceOver: boolean;
}

/** The pin this pass: null when there is none or it has expired (`expired` then says whether to clear it). */
export interface PinJudgement {
  view: PinView | null;
  expired: boolean;
  /** engine state: the pinned target and since when it has been failing */
  pinWatch: EngineState['pinWatch'];
}

// Failing: no ping, or an SCVM whose session is not alive in the lists (missing from them counts once a list was
// ever received, as for a usable remote), or whose NFS failed (nfsCheck). An address that is no SCVM's is judged by
// ping alone.
function failingWords(target: string, views: ScvmView[], icmp: (ip: string) => Icmp, sessionsEverSeen: boolean): string | null {
  if (icmp(target) === 'down') return `${target} does not answer ping`;
  const v = views.find((x) => x.dataIp === target) ?? views.find((x) => x.manageIp === target);
  if (v && v.alive !== true && (sessionsEverSeen || v.alive === false)) return `the SCVM behind ${target} has no live session`;
  if (v && v.nfs === 'failed') return `the SCVM behind ${target} does not answer NFS`;
  return null;
}

/** Whether a pin is in force at `now` (set, and not past its end). */
export function pinActive(pin: { until: number | null } | null, now: number): boolean {
  return pin !== null && (pin.until === null || pin.until > now);
}

/** Judge the pin: expired, fine, or failing (and for how long). Pure. */
export function judgePin(
  pin: Pin | null,
  prev: EngineState['pinWatch'],
  views: ScvmView[],
  icmp: (ip: string) => Icmp,
  sessionsEverSeen: boolean,
  now: number,
  config: Config,
): PinJudgement {
  if (!pin) return { view: null, expired: false, pinWatch: null };
  if (!pinActive(pin, now)) return { view: null, expired: true, pinWatch: null };
  const force = pin.force === true;
  const failing = failingWords(pin.target, views, icmp, sessionsEverSeen);
  const before = prev && prev.target === pin.target ? prev.failingSince : null;
  const since = failing === null ? null : before !== null && before <= now ? before : now;
  const failingSec = since === null ? null : Math.floor((now - since) / 1000);
  const graceOver = !force && failingSec !== null && failingSec >= config.decide.pinGraceSec;
  return {
    view: { target: pin.target, until: pin.until, force, failing, failingSec, graceOver },
    expired: false,
    pinWatch: { target: pin.target, failingSince: since },
  };
}

/** A pin whose target fails: since when, and what happens next (for the log, `status` and the heartbeat). */
export interface PinTargetFailing {
  target: string;
  /** why, in words: "10.10.85.17 does not answer ping" */
  why: string;
  /** epoch ms of the first pass that saw it failing (engine state pinWatch.failingSince) */
  since: number;
  force: boolean;
  /** epoch ms when LOOP may take over (it clears the pin once it finds a healthy target); null for a --force pin */
  graceEndsAt: number | null;
  /** this pass cleared the pin */
  cleared: boolean;
}

/** What the pin comes to once the table has decided. */
export interface PinOutcome {
  /** past the grace time LOOP found a healthy target elsewhere: the pin is removed */
  cleared: boolean;
  /** the decision's words, saying so when the pin was cleared */
  because: string;
  failing: PinTargetFailing | null;
  warning: { key: string; text: string } | null;
  pinWatch: EngineState['pinWatch'];
}

/**
 * "Pin grace": past it (never for a --force pin), the pin is cleared as soon as LOOP, the rows below the pin's,
 * chooses a healthy target elsewhere; while nothing healthy exists it stays. Reroute disabled (row 1) clears nothing.
 */
export function pinOutcome(
  j: PinJudgement,
  choice: { target: string; reason: ReasonCode; because: string },
  rerouteEnabled: boolean,
  config: Config,
): PinOutcome {
  const pin = j.view;
  if (!pin || pin.failing === null || j.pinWatch?.failingSince == null) {
    return { cleared: false, because: choice.because, failing: null, warning: null, pinWatch: j.pinWatch };
  }
  const graceSec = config.decide.pinGraceSec;
  const since = j.pinWatch.failingSince;
  const cleared =
    pin.graceOver &&
    rerouteEnabled &&
    choice.target !== pin.target &&
    choice.reason !== 'no-healthy-target' &&
    choice.reason !== 'no-route-fallback';
  const because = cleared
    ? `pin to ${pin.target} cleared (${pin.failing} for ${pin.failingSec} s, grace ${graceSec} s); LOOP: ${choice.because}`
    : choice.because;
  const failingWords = `pinned target ${pin.failing} (for ${pin.failingSec} s)`;
  const warning = cleared
    ? { key: 'pin-cleared', text: because }
    : pin.force
      ? { key: 'pin-failing', text: `${failingWords}: a --force pin stays; \`reroute route --auto\` hands the route back to LOOP` }
      : pin.graceOver
        ? { key: 'pin-failing', text: `${failingWords}: no healthy target to take over, the pin stays` }
        : {
            key: 'pin-failing',
            text: `${failingWords}: the pin holds for ${graceSec - (pin.failingSec ?? 0)} s more, then LOOP takes over if a healthy target exists`,
          };
  return {
    cleared,
    because,
    failing: { target: pin.target, why: pin.failing, since, force: pin.force, graceEndsAt: pin.force ? null : since + graceSec * 1000, cleared },
    warning,
    pinWatch: cleared ? null : j.pinWatch,
  };
}
