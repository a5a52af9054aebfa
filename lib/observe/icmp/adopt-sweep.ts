// The pass's side of the early sweep (lib/boot/early-sweep.ts): take it over only if it is the sweep the pass needs.
import type { Log } from '../../runtime/log';
import { mark } from '../../runtime/trace';
import type { ProbeSettings, SweepHandle } from './prober';
import { planDiffers } from './sweep-plan';

/** A sweep started before the pass had a log (lib/boot/early-sweep.ts). */
export interface EarlySweepLike {
  sweep: SweepHandle;
  /** the sweep's log lines so far, and every later one, go to `log` */
  log: { pipeTo(log: Log): void };
}

/** The early sweep when it pings exactly what the pass needs; else it is cancelled, and null means: sweep now. */
export function adoptSweep(
  early: EarlySweepLike | null,
  targets: readonly string[],
  settings: ProbeSettings,
  log: Log,
): SweepHandle | null {
  if (!early) return null;
  early.log.pipeTo(log);
  const differs = planDiffers(early.sweep, targets, settings);
  if (differs !== null) {
    early.sweep.cancel();
    log.debug(`icmp: the early sweep does not fit this pass (${differs}); sweeping again`);
    return null;
  }
  mark('early sweep adopted');
  return early.sweep;
}
