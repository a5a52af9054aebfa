// Flap damping: each relapse of the local SCVM adds 1 to a penalty that halves every flapHalfLifeSec;
// the stable period required before going back is backToNormalSec * 2^(penalty - 1), capped at maxBackToNormalSec.
// Field incident: fast switch-out/switch-back with no real fault stalled I/O for over a minute (NFS port reuse).
import type { Config } from '../config/schema';
import type { EngineState } from './state';

type Damping = EngineState['damping'];
type DecideConfig = Config['decide'];

/** The penalty as it stands at `now`, after decay. */
export function penaltyAt(d: Damping, now: number, cfg: DecideConfig): number {
  if (d.penaltyAt === null || d.penalty === 0) return 0;
  const elapsedSec = Math.max(0, now - d.penaltyAt) / 1000;
  return d.penalty * Math.pow(2, -elapsedSec / cfg.flapHalfLifeSec);
}

/** Highest useful penalty: the one whose stable period reaches the cap; more would only slow the decay. */
export function maxPenalty(cfg: DecideConfig): number {
  if (cfg.backToNormalSec <= 0 || cfg.maxBackToNormalSec <= cfg.backToNormalSec) return 1;
  return 1 + Math.log2(cfg.maxBackToNormalSec / cfg.backToNormalSec);
}

/** Damping after a relapse at `now`. */
export function recordRelapse(d: Damping, now: number, cfg: DecideConfig): Damping {
  const penalty = Math.min(maxPenalty(cfg), penaltyAt(d, now, cfg) + 1);
  return { penalty, penaltyAt: now, relapses: [...d.relapses, now].slice(-32) };
}

/** Seconds the local SCVM must stay healthy without a break before the route goes back, at `now`. */
export function requiredStableSec(d: Damping, now: number, cfg: DecideConfig): number {
  const exponent = Math.max(0, penaltyAt(d, now, cfg) - 1);
  const sec = Math.min(cfg.maxBackToNormalSec, cfg.backToNormalSec * Math.pow(2, exponent));
  // Never below the configured period, whatever rounding does.
  return Math.max(cfg.backToNormalSec, Math.ceil(sec));
}
