// The sweep plan: what the next pass will ping, saved in the state file by each pass so that the next one can send
// its first echoes from the loader, before the bundle, the config check and the lock (lib/boot/early-sweep.ts).
// The pass adopts that sweep only when its own plan, from the checked config and the locked state, is the same.
// No zod here: the loader checks a plan by hand before the bundle is loaded.
import { isIPv4 } from '../../net/ipv4';
import type { ProbeSettings } from './prober';

export interface ConfigIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface SweepPlan {
  /** the config file the plan was made from; the loader skips a plan whose config file changed since */
  config: ConfigIdentity;
  targets: string[];
  probe: ProbeSettings;
}

/** Bounds of every probe setting, as the config schema allows them. */
const PROBE_BOUNDS: Record<keyof ProbeSettings, [number, number]> = {
  count: [1, 100],
  intervalMs: [1, 10_000],
  waitMs: [10, 10_000],
  timeoutMs: [50, 30_000],
  minReplies: [1, 100],
  payloadBytes: [0, 65_507],
  mtu: [68, 65_535],
  paceMs: [0, 1000],
};

/** More targets than a real cluster has: a plan beyond it is not one we wrote. */
const MAX_TARGETS = 4096;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isWhole = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** A plan read from the state file, or why it is not one. */
export function checkPlan(raw: unknown): SweepPlan | string {
  if (!isRecord(raw)) return 'no sweep plan in the state file';
  const { config, targets, probe } = raw;
  if (
    !isRecord(config) ||
    typeof config.path !== 'string' ||
    typeof config.size !== 'number' ||
    typeof config.mtimeMs !== 'number' ||
    typeof config.ino !== 'number'
  ) {
    return 'sweep plan: bad config identity';
  }
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > MAX_TARGETS) {
    return 'sweep plan: bad target list';
  }
  if (!targets.every((t) => typeof t === 'string' && isIPv4(t))) return 'sweep plan: a target is not an IPv4 address';
  if (!isRecord(probe)) return 'sweep plan: no probe settings';
  const settings: Partial<ProbeSettings> = {};
  for (const [key, [min, max]] of Object.entries(PROBE_BOUNDS) as Array<[keyof ProbeSettings, [number, number]]>) {
    const v = probe[key];
    if (!isWhole(v, min, max)) return `sweep plan: probe.${key} is out of bounds`;
    settings[key] = v;
  }
  return {
    config: { path: config.path, size: config.size, mtimeMs: config.mtimeMs, ino: config.ino },
    targets: targets as string[],
    probe: settings as ProbeSettings,
  };
}

/** Why a sweep of (targets, settings) is not the one the pass needs, or null when it is. */
export function planDiffers(
  sweep: { targets: readonly string[]; settings: ProbeSettings },
  targets: readonly string[],
  settings: ProbeSettings,
): string | null {
  if (sweep.targets.length !== targets.length || sweep.targets.some((t, i) => t !== targets[i])) {
    return 'the targets changed';
  }
  for (const key of Object.keys(PROBE_BOUNDS) as Array<keyof ProbeSettings>) {
    if (sweep.settings[key] !== settings[key]) return `probe.${key} changed`;
  }
  return null;
}
