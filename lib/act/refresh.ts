// Session refresh (the old update_local_hypervisor_ip): tell ZBS this host's NFS client IPs at the new access point,
// after every route add, so the NFS access point stays unique. A failure is returned, never thrown: the caller keeps
// it pending and retries on the next pass until it succeeds.
import type { Config } from '../config/schema';
import { isIPv4 } from '../net/ipv4';
import type { ZbsClient } from '../observe/zbs/client';
import { isSafeSessionId } from '../observe/zbs/schemas';
import type { Log } from '../runtime/log';
import type { ZbsSession } from '../types';

export interface ApiActDeps {
  client: Pick<ZbsClient, 'call'>;
  config: Config;
  log: Log;
}

export type ApiActResult = { ok: true; via: string } | { ok: false; reason: string };

const PLACEHOLDER = '{session_id}';

/** The refresh path for a session id, or why it cannot be built (never from a missing or unsafe value). */
export function refreshPathFor(template: string, sessionId: unknown): { ok: true; path: string } | { ok: false; reason: string } {
  if (!isSafeSessionId(sessionId)) return { ok: false, reason: 'refusing to build the refresh path: the target session id is missing or unsafe' };
  if (template.split(PLACEHOLDER).length !== 2) {
    return { ok: false, reason: `api.refreshPath must hold ${PLACEHOLDER} exactly once: fix the config` };
  }
  return { ok: true, path: template.replace(PLACEHOLDER, sessionId) };
}

/**
 * PUT api.refreshPath for the target SCVM's session with body exactly {"local_clients_ips": "<ip>,<ip>"}; sent to the
 * target's manage IP first, then to the other known SCVMs in turn until one accepts. hostIps: this host's own IPs; the
 * NFS-side address (nfsHostIp) is left out, duplicates dropped, anything not a dotted quad refuses the whole refresh.
 */
export async function refreshSession(
  deps: ApiActDeps,
  input: { target: ZbsSession; hostIps: readonly string[] },
): Promise<ApiActResult> {
  const { client, config, log } = deps;
  const fail = (reason: string): ApiActResult => {
    log.warn(`session refresh not done: ${reason}`);
    return { ok: false, reason };
  };
  const path = refreshPathFor(config.api.refreshPath, input.target.sessionId);
  if (!path.ok) return fail(path.reason);
  const bad = input.hostIps.find((ip) => !isIPv4(ip));
  if (bad !== undefined) return fail(`host IP ${JSON.stringify(bad).slice(0, 40)} is not a dotted-quad IPv4 address`);
  const ips = [...new Set(input.hostIps)].filter((ip) => ip !== config.nfsHostIp);
  if (ips.length === 0) return fail('no host IP to report (only the NFS-side address or none was found)');
  const body = { local_clients_ips: ips.join(',') };

  const order = [input.target.manageIp, config.local.manageIp, ...config.scvms.map((s) => s.manageIp)].filter(
    (ip): ip is string => ip !== null && isIPv4(ip),
  );
  const reasons: string[] = [];
  for (const ip of new Set(order)) {
    const r = await client.call(ip, { method: 'PUT', path: path.path, json: body });
    if (r.ok) {
      log.info(`session refresh: session ${input.target.sessionId} (${input.target.dataIp}) now has clients ${body.local_clients_ips} (via ${ip})`);
      return { ok: true, via: ip };
    }
    reasons.push(r.reason);
    log.warn(`session refresh via ${ip} failed: ${r.reason}`);
  }
  return fail(reasons.length ? reasons.join('; ') : 'no SCVM manage IP known to send it to');
}
