// The NFS data path in the engine (issue 15 case 5). A check is a TCP connect to the NFS VIP, so it goes via the
// route's target as observed this pass: checks through the same target that fail nfsCheck.failures times in a row
// make that target "failed". A remote SCVM found failed is then no target for nfsCheck.avoidSec, since its NFS cannot
// be checked while the route goes elsewhere; the local SCVM is not avoided: its failure is a relapse, and its stable
// period and flap damping decide when the route may go back. A check that could not be made counts for nothing.
import type { Config } from '../config/schema';
import type { NfsCheck } from '../types';
import type { EngineRecord } from './state';

/** The NFS of one SCVM as the engine judges it this pass. */
export type NfsVerdict = 'ok' | 'failed' | 'unknown';

/** The checks after this pass, and what they say about the route's target. */
export interface NfsTrack {
  run: EngineRecord['nfsRun'];
  avoid: EngineRecord['nfsAvoid'];
  /** the target the checks went through (null when the route was not read or there is none) */
  target: string | null;
  /** the data IP of the SCVM behind it, null for no SCVM's address */
  scvm: string | null;
  verdict: NfsVerdict;
  /** what the checks say, in words ("3 checks in a row failed, the last: no answer ...") */
  why: string;
}

/**
 * Count this pass's check against `target` (null: the route was not read, or there is none) behind which is the SCVM
 * with data IP `scvm` (null: no SCVM's address). Pure.
 */
export function trackNfs(
  prev: Pick<EngineRecord, 'nfsRun' | 'nfsAvoid'>,
  check: NfsCheck,
  target: string | null,
  scvm: string | null,
  now: number,
  config: Config,
): NfsTrack {
  const cfg = config.nfsCheck;
  if (!cfg.enabled) return { run: null, avoid: {}, target, scvm, verdict: 'unknown', why: check.result === 'ok' ? 'ok' : check.why };
  const avoid: Record<string, number> = {};
  for (const [ip, at] of Object.entries(prev.nfsAvoid)) if (at <= now && now - at < cfg.avoidSec * 1000) avoid[ip] = at;
  const known = { avoid, target, scvm };
  if (target === null) return { ...known, run: prev.nfsRun, verdict: 'unknown', why: 'no route to check through' };

  const p = prev.nfsRun;
  const inRow = p !== null && p.target === target && p.lastAt <= now && now - p.lastAt <= cfg.forgetAfterSec * 1000;
  if (check.result === 'unknown') return { ...known, run: inRow ? p : null, verdict: 'unknown', why: check.why };
  if (check.result === 'ok') {
    if (scvm !== null) delete avoid[scvm];
    return { ...known, run: { target, failed: 0, lastAt: now }, verdict: 'ok', why: `connected in ${check.ms} ms` };
  }
  const failed = (inRow ? p.failed : 0) + 1;
  const run = { target, failed, lastAt: now };
  if (failed < cfg.failures) {
    return { ...known, run, verdict: 'unknown', why: `${failed} of ${cfg.failures} checks in a row failed, the last: ${check.why}` };
  }
  if (scvm !== null && scvm !== config.local.dataIp) avoid[scvm] = now;
  return { ...known, run, verdict: 'failed', why: `${failed} check${failed === 1 ? '' : 's'} in a row failed, the last: ${check.why}` };
}

/** The verdict for an SCVM by its data IP: the checks for the route's target, the avoid list for other remotes. */
export function nfsVerdictOf(t: NfsTrack, dataIp: string, config: Config): NfsVerdict {
  if (t.target !== null && dataIp === t.scvm) return t.verdict;
  if (dataIp === config.local.dataIp) return 'unknown';
  return t.avoid[dataIp] !== undefined ? 'failed' : 'unknown';
}
