// What `reroute status` says first, in one line, and what `status --check` exits with (monitoring-plugin codes):
// every condition that holds now, most severe first. Pure: the facts are gathered by the command.
import type { ReasonCode } from '../../decide/state';
import { localTimestamp } from '../../runtime/logger';

export type Severity = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
export const EXIT_CODE: Record<Severity, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };
const RANK: Record<Severity, number> = { CRITICAL: 3, UNKNOWN: 2, WARNING: 1, OK: 0 };

export interface Condition {
  /** stable name for scripts (status --json) */
  code: string;
  severity: Severity;
  text: string;
}

export interface StatusFacts {
  /** agent time now, and its wall-clock reading for the text */
  now: number;
  wallOf(t: number): number;
  localDataIp: string;
  /** the route's target as the agent last set or saw it */
  target: string | null;
  /** the kernel's route to the VIP now */
  route: { ok: true; nextHops: string[] } | { ok: false; reason: string };
  /** the last pass; when it failed, its error and the start of the last pass that went well (okAt) */
  lastPass: { at: number; ok: boolean; error?: string; okAt?: number | null } | null;
  /** the runner's lock: a live holder, none, or cannot be told (no RAM-disk access) */
  runner: 'alive' | 'none' | 'unknown';
  lastReason: ReasonCode | null;
  /** the pin, when one is in force */
  pin: { target: string; until: number | null; by?: string | null; from?: string | null; reason?: string | null; force?: boolean } | null;
  local: { down: boolean; downSince: number | null; healthySince: number | null };
  /** the stable period the local SCVM needs now (damping included), s */
  stableSec: number;
  /** the last session-list ask, when it failed, and since when the API has failed */
  api: { failingSince: number; error: string } | null;
  /** the config is invalid and the agent runs on the last good one */
  configFallback: string | null;
  thresholds: { warnReroutedSec: number; criticalLastPassSec: number };
}

/** A duration for a person: 45 s, 12 min, 3 h 5 min, 2 d 4 h. */
export function human(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** One timestamp format in status, the log's: the host's local time with its offset, to the second. */
export function stamp(wallMs: number): string {
  return localTimestamp(new Date(wallMs));
}

/** Every condition that holds, most severe first; [OK] when none does. */
export function conditions(f: StatusFacts): Condition[] {
  const at = (t: number) => stamp(f.wallOf(t));
  const out: Condition[] = [];
  const add = (code: string, severity: Severity, text: string) => out.push({ code, severity, text });

  const age = f.lastPass ? f.now - f.lastPass.at : null;
  const stale = age === null || age > f.thresholds.criticalLastPassSec * 1000;
  if (stale && f.runner !== 'alive') {
    add('runner-down', 'CRITICAL', `RUNNER DOWN: ${age === null ? 'no pass recorded' : `last pass ${human(age)} ago`}, no runner holds the lock`);
  } else if (stale) {
    add('stale', 'CRITICAL', `STALE: last pass ${age === null ? 'never' : `${human(age)} ago`} while a runner holds the lock`);
  }
  if (f.lastPass && !f.lastPass.ok) {
    // failing for longer than a pass may be missing is as bad as no pass at all
    const okAt = f.lastPass.okAt ?? null;
    const severity = okAt === null || f.now - okAt > f.thresholds.criticalLastPassSec * 1000 ? 'CRITICAL' : 'WARNING';
    const good = okAt === null ? 'no pass went well before it' : `the last good pass ${human(f.now - okAt)} ago`;
    add('pass-failed', severity, `LAST PASS FAILED at ${at(f.lastPass.at)}: ${f.lastPass.error ?? 'no reason recorded'} (${good})`);
  }
  if (f.route.ok && f.route.nextHops.length === 0) add('no-route', 'CRITICAL', 'NO ROUTE to the NFS VIP');
  else if (f.route.ok && f.target !== null && !f.route.nextHops.includes(f.target)) {
    add('route-differs', 'WARNING', `ROUTE DIFFERS FROM AGENT: the kernel routes via ${f.route.nextHops.join(', ')}, the agent via ${f.target}`);
  }
  if (f.lastReason === 'no-healthy-target') add('no-healthy-target', 'CRITICAL', 'LOCAL DOWN, NO HEALTHY TARGET');
  if (f.lastReason === 'reroute-disabled' || f.lastReason === 'reroute-disabled-move') {
    add('disabled', 'WARNING', 'DISABLED by the cluster (enable_reroute off)');
  }
  const away = f.target !== null && f.target !== f.localDataIp;
  if (f.pin) {
    const who = [f.pin.by && `by ${f.pin.by}`, f.pin.from && `from ${f.pin.from}`].filter(Boolean).join(' ');
    const until = f.pin.until === null ? 'until route --auto' : `until ${at(f.pin.until)}`;
    const why = f.pin.reason ? ` (${f.pin.reason})` : '';
    add('pinned', 'WARNING', `PINNED to ${f.pin.target}${who ? ` ${who}` : ''} ${until}${f.pin.force ? ', forced' : ''}${why}`);
  } else if (f.lastReason === 'secondary-channel' || f.lastReason === 'secondary-ok') {
    add('secondary-channel', 'WARNING', `SECONDARY CHANNEL: routed via management IP ${f.target}`);
  } else if (away) {
    const since = f.local.downSince;
    const forMs = since === null ? null : f.now - since;
    const left = f.local.healthySince === null ? null : f.local.healthySince + f.stableSec * 1000 - f.now;
    const back =
      f.local.down || left === null
        ? `back ${human(f.stableSec * 1000)} after the local SCVM is healthy`
        : left > 0
          ? `back in ~${human(left)}`
          : 'going back now (the local SCVM has been stable long enough)';
    const severity = forMs !== null && forMs > f.thresholds.warnReroutedSec * 1000 ? 'WARNING' : 'OK';
    add('rerouted', severity, `REROUTED to ${f.target}${since === null ? '' : ` since ${at(since)} (for ${human(forMs!)})`}, ${back}`);
  }
  if (f.api) {
    const login = /login .*refused/.test(f.api.error);
    add(login ? 'login-refused' : 'api-down', 'WARNING', `${login ? 'API LOGIN REFUSED' : 'API DOWN'} since ${at(f.api.failingSince)}: ${f.api.error}`);
  }
  if (f.configFallback) add('config-invalid', 'WARNING', `CONFIG INVALID: ${f.configFallback}`);
  if (out.length === 0) add('ok', 'OK', `OK: routed via the local SCVM ${f.localDataIp}`);
  return out.sort((a, b) => RANK[b.severity] - RANK[a.severity]);
}

/** The worst severity of a set of conditions. */
export function worst(list: Condition[]): Severity {
  return list.reduce<Severity>((w, c) => (RANK[c.severity] > RANK[w] ? c.severity : w), 'OK');
}

/** `status --check`'s one line: "REROUTE WARNING: first; second | perfdata". */
export function checkLine(list: Condition[], perf: Record<string, number | null>): string {
  const data = Object.entries(perf)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `REROUTE ${worst(list)}: ${list.map((c) => c.text).join('; ')}${data ? ` | ${data}` : ''}`;
}
