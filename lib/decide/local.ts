// The local SCVM across passes: its healthy streak, flap damping, and the confirmation that session-only evidence
// needs before it counts as "down" ("session confirmation", issue 15 case 4).
import type { Config } from '../config/schema';
import { recordRelapse, requiredStableSec } from './damping';
import type { EngineState, LocalStatus } from './state';

/** What this pass makes of the local SCVM. */
export interface LocalTrack {
  local: EngineState['local'];
  damping: EngineState['damping'];
  /**
   * Session-only evidence against the local SCVM this pass (it answers ping; a fresh list shows its session missing or
   * dead) that is not confirmed yet: not "down", but it breaks the healthy streak.
   */
  suspect: boolean;
  /** fresh lists within decide.sessionConfirmSec that showed that evidence, this one included */
  sightings: number;
  /** seconds of the unbroken healthy streak, null when there is none */
  healthySec: number | null;
  /** the stable period a return needs now (flap damping included), s */
  requiredSec: number;
  /** the local SCVM failed before and has not been healthy for requiredSec since, or is suspect now */
  owesPeriod: boolean;
}

const SESSION_BAD: LocalStatus[] = ['session-missing', 'session-dead'];

/** The local SCVM after this pass: its memory (nextLocal), its streak and the stable period a return needs. */
export function trackLocal(prev: EngineState, status: LocalStatus, listFrom: string | null, now: number, config: Config): LocalTrack {
  const t = nextLocal(prev, status, listFrom, now, config);
  const healthySec = t.local.healthySince === null ? null : Math.floor((now - t.local.healthySince) / 1000);
  const requiredSec = requiredStableSec(t.damping, now, config.decide);
  const relapsed = t.damping.relapses.length > 0;
  const owesPeriod = t.suspect || (relapsed && (healthySec === null || healthySec < requiredSec));
  return { ...t, healthySec, requiredSec, owesPeriod };
}

type NextLocal = Pick<LocalTrack, 'local' | 'damping' | 'suspect' | 'sightings'>;

/**
 * ICMP loss is down at once (the fast path), and so is an NFS data path that failed its checks in a row (the checks
 * in a row are its confirmation). A list without a live local session is down only once
 * decide.sessionConfirmLists fresh lists no older than decide.sessionConfirmSec have shown it: one partial list (a meta
 * leader change) moves no host. A list showing it alive resets the count only when it comes from an SCVM whose lists
 * have not shown it missing within the window (issue 27): an SCVM serving partial lists between the local SCVM's full
 * ones moves no host, while a chunk service that restarts between lists is still caught, since a restart is seen alike
 * by every SCVM, and an SCVM that showed it missing and then alive is no reason to reset. "unknown" (no fresh list)
 * neither starts nor breaks a streak. `listFrom`: the SCVM a fresh list came from this pass, null without one.
 */
function nextLocal(prev: EngineState, status: LocalStatus, listFrom: string | null, now: number, config: Config): NextLocal {
  const cfg = config.decide;
  const windowMs = cfg.sessionConfirmSec * 1000;
  const inWindow = (t: number) => t <= now && now - t <= windowMs;
  const recent = prev.local.sessionBadAt.filter(inWindow);
  const badBy = Object.fromEntries(Object.entries(prev.local.sessionBadBy).filter(([, t]) => inWindow(t)));
  const sessionBad = SESSION_BAD.includes(status);
  // a sighting is a fresh list: a reused one (a pass that did not ask) is the same sighting again
  let sessionBadAt = recent;
  if (sessionBad && listFrom !== null) {
    sessionBadAt = [...recent, now].slice(-cfg.sessionConfirmLists);
    badBy[listFrom] = now;
  } else if (status === 'healthy' && listFrom !== null && !(listFrom in badBy)) {
    sessionBadAt = [];
  }
  const confirmed = sessionBad && sessionBadAt.length >= cfg.sessionConfirmLists;
  const base = { ...prev.local, sessionBadAt, sessionBadBy: badBy };

  if (status === 'icmp-down' || status === 'nfs-down' || confirmed) {
    const damping = prev.local.down ? prev.damping : recordRelapse(prev.damping, now, cfg);
    const local = { ...base, down: true, healthySince: null, downSince: prev.local.down ? prev.local.downSince : now };
    return { local, damping, suspect: false, sightings: sessionBadAt.length };
  }
  if (sessionBad) {
    // Not down (yet), but not healthy either: the streak starts again after it.
    return { local: { ...base, healthySince: null }, damping: prev.damping, suspect: true, sightings: sessionBadAt.length };
  }
  if (status === 'healthy') {
    const since = prev.local.down || prev.local.healthySince === null ? now : prev.local.healthySince;
    const local = { ...base, down: false, healthySince: Math.min(since, now), downSince: null };
    return { local, damping: prev.damping, suspect: false, sightings: 0 };
  }
  return { local: base, damping: prev.damping, suspect: false, sightings: 0 };
}
