// The operator's pin (ROUTE mode) as this pass sees it: active or expired, and whether its target is failing
// ("pin grace", issue 15 case 3).
import type { Config } from '../config/schema';
import type { Pin } from '../types';
import type { Icmp, ScvmView } from './health';
import type { EngineState } from './state';

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

function failingWords(target: string, views: ScvmView[], icmp: (ip: string) => Icmp): string | null {
  if (icmp(target) === 'down') return `${target} does not answer ping`;
  const v = views.find((x) => x.dataIp === target) ?? views.find((x) => x.manageIp === target);
  if (v && v.alive === false) return `the SCVM behind ${target} has no live session`;
  return null;
}

/** Judge the pin: expired, fine, or failing (and for how long). Pure. */
export function judgePin(
  pin: Pin | null,
  prev: EngineState['pinWatch'],
  views: ScvmView[],
  icmp: (ip: string) => Icmp,
  now: number,
  config: Config,
): PinJudgement {
  if (!pin) return { view: null, expired: false, pinWatch: null };
  if (pin.until !== null && pin.until <= now) return { view: null, expired: true, pinWatch: null };
  const force = pin.force === true;
  const failing = failingWords(pin.target, views, icmp);
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
