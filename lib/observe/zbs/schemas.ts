// Validation of ZBS API answers. Everything the API says is untrusted: an IP is kept only when it is a plain dotted
// quad, a session id only when it is safe as one URL path segment, and a list only up to config.api.maxSessions.
//
// Answers may come bare or in the SmartX envelope {"ec": "EOK", "error": {}, "data": <payload>}; both are accepted.
//
// Policy for a bad session entry: the WHOLE list is refused ("API unavailable"), with a log line naming the entry and
// the field. Dropping the entry instead could make the local session look missing, and a missing local session is a
// reason to move the route; an unusable API never is (DESIGN §5 "If HTTP fails, do not switch").
import { z } from 'zod';
import { isIPv4 } from '../../net/ipv4';
import type { ClusterSwitches, ZbsSession } from '../../types';

/** Letters, digits, "-" and "_" only: no "/", "..", "%", spaces or anything a URL or a shell would read. */
export const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ZONE = /^[A-Za-z0-9_.-]{1,64}$/;

/** True when `id` can be put into a URL path as one segment without escaping. */
export function isSafeSessionId(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID.test(id);
}

const ipv4 = z.string().refine(isIPv4, 'not a plain dotted-quad IPv4 address');
// An optional field given as "" or null means "not reported"; any other value must be valid.
const optional = (s: z.ZodType<string>) =>
  z
    .union([z.literal(''), z.null(), z.undefined(), s])
    .transform((v): string | null => (v === '' || v == null ? null : v));

const rawSession = z.object({
  uuid: z.string().regex(SESSION_ID, 'not a safe session id (letters, digits, "-", "_")'),
  ip: ipv4,
  secondary_data_ip: optional(ipv4),
  zone: optional(z.string().regex(ZONE, 'not a zone name (letters, digits, ".", "-", "_")')),
  alive: z.boolean().optional(),
  alive_sec: z.number().finite().nonnegative().optional(),
});

const rawSwitches = z.object({
  enable_reroute: z.boolean(),
  enable_secondary_data_channel: z.boolean(),
});

const rawLogin = z.object({
  token: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^[\x21-\x7e]+$/, 'not a header-safe token'),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Short, printable rendering of an untrusted value for a log line. */
export function showUntrusted(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  s = s.replace(/[^\x20-\x7e]/g, '?');
  return s.length > 48 ? `${s.slice(0, 45)}...` : s;
}

function describeIssue(issue: z.ZodIssue, root: unknown): string {
  const path = issue.path.join('.') || '(answer)';
  let value: unknown = root;
  for (const k of issue.path) value = value && typeof value === 'object' ? (value as never)[k] : undefined;
  // Never echo what looks like a secret (the login answer).
  const shown = issue.path.includes('token') ? '(hidden)' : showUntrusted(value);
  return `${path}=${shown}: ${issue.message}`;
}

/** The payload of an answer: `data` of the SmartX envelope, or the answer itself. */
export function unwrap(body: unknown): unknown {
  if (body && typeof body === 'object' && !Array.isArray(body) && 'data' in body) {
    const ec = (body as { ec?: unknown }).ec;
    if (ec !== undefined && ec !== 'EOK') return { __ec: ec };
    return (body as { data: unknown }).data;
  }
  return body;
}

function parseWith<T extends z.ZodTypeAny>(schema: T, body: unknown, what: string): Parsed<z.output<T>> {
  const payload = unwrap(body);
  if (payload && typeof payload === 'object' && '__ec' in payload) {
    return { ok: false, reason: `${what}: API error code ${showUntrusted((payload as { __ec: unknown }).__ec)}` };
  }
  const r = schema.safeParse(payload);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, reason: `${what}: ${r.error.issues.slice(0, 3).map((i) => describeIssue(i, payload)).join('; ')}` };
}

/** The token from a login answer. */
export function parseLogin(body: unknown): Parsed<string> {
  const r = parseWith(rawLogin, body, 'login answer');
  return r.ok ? { ok: true, value: r.value.token } : r;
}

/** Cluster switches from their answer. */
export function parseSwitches(body: unknown): Parsed<ClusterSwitches> {
  const r = parseWith(rawSwitches, body, 'switches answer');
  if (!r.ok) return r;
  return {
    ok: true,
    value: {
      enableReroute: r.value.enable_reroute,
      enableSecondaryDataChannel: r.value.enable_secondary_data_channel,
    },
  };
}

/**
 * The session list from its answer; refused whole when longer than maxSessions or when any entry is bad.
 * Liveness: the `alive` flag when the entry has one, else `alive_sec > 0`; an entry with neither is bad (field
 * incident: a version without a session-alive field made the agent delete and re-add the local route).
 */
export function parseSessionList(body: unknown, maxSessions: number): Parsed<ZbsSession[]> {
  const payload = unwrap(body);
  if (payload && typeof payload === 'object' && '__ec' in payload) {
    return { ok: false, reason: `session list: API error code ${showUntrusted((payload as { __ec: unknown }).__ec)}` };
  }
  if (!Array.isArray(payload)) return { ok: false, reason: `session list: expected an array, got ${showUntrusted(payload)}` };
  if (payload.length > maxSessions) {
    return { ok: false, reason: `session list: ${payload.length} entries, more than api.maxSessions ${maxSessions}` };
  }
  const sessions: ZbsSession[] = [];
  for (let i = 0; i < payload.length; i++) {
    const entry: unknown = payload[i];
    const r = rawSession.safeParse(entry);
    if (!r.success) {
      const first = r.error.issues[0];
      const detail = first ? describeIssue(first, entry) : 'invalid';
      return { ok: false, reason: `session list: entry ${i} refused (${detail})` };
    }
    const s = r.data;
    if (s.alive === undefined && s.alive_sec === undefined) {
      return { ok: false, reason: `session list: entry ${i} (${s.uuid}) has neither "alive" nor "alive_sec"` };
    }
    sessions.push({
      sessionId: s.uuid,
      dataIp: s.ip,
      manageIp: s.secondary_data_ip,
      zone: s.zone,
      alive: s.alive ?? (s.alive_sec ?? 0) > 0,
      aliveSec: s.alive_sec ?? null,
    });
  }
  return { ok: true, value: sessions };
}

/**
 * "Local session exists": some session's storage IP equals the local SCVM's data IP (config.local.dataIp).
 * After a chunk restart the list may hold an old dead session and a new live one for the same IP: the live one is
 * returned when there is one, else the first. null = the local session does not exist.
 */
export function localSession(sessions: readonly ZbsSession[], localDataIp: string): ZbsSession | null {
  const mine = sessions.filter((s) => s.dataIp === localDataIp);
  return mine.find(isAlive) ?? mine[0] ?? null;
}

/** "Session alive": the API's alive flag when reported, else alive_sec > 0 (decided once, in parseSessionList). */
export function isAlive(session: ZbsSession): boolean {
  return session.alive;
}
