// Heartbeat to the current target SCVM, so the cluster monitor ("insight") knows where this host's I/O goes:
// 0 = normal (target is the local SCVM), 2 = switched away, 1 = no heartbeat (ttl counted down to 0).
import { isIPv4 } from '../net/ipv4';
import type { ApiActDeps, ApiActResult } from './refresh';

export interface HeartbeatInput {
  /** manage IP of the SCVM the route points at now (where the heartbeat goes) */
  targetManageIp: string | null;
  /** the route's current next hop for the NFS VIP */
  nfsTargetIp: string | null;
  /** this host's management IP (config.hypervisorIp or the one found on the host) */
  hypervisorIp: string | null;
}

/** The exact heartbeat body, or why one cannot be built (never from a missing value). */
export function heartbeatBody(
  deps: Pick<ApiActDeps, 'config'>,
  input: HeartbeatInput,
): { ok: true; body: Record<string, string | number> } | { ok: false; reason: string } {
  const { config } = deps;
  const fields = {
    hypervisor_ip: input.hypervisorIp,
    local_scvm_data_ip: config.local.dataIp,
    local_scvm_manage_ip: config.local.manageIp,
    nfs_target_ip: input.nfsTargetIp,
  };
  for (const [k, v] of Object.entries(fields)) {
    if (!isIPv4(v)) return { ok: false, reason: `refusing to send a heartbeat without a valid ${k}` };
  }
  return { ok: true, body: { ...(fields as Record<string, string>), ttl: config.heartbeatTtl } };
}

/** POST api.heartbeatPath to the target's manage IP with body exactly {hypervisor_ip, local_scvm_data_ip,
 * local_scvm_manage_ip, nfs_target_ip, ttl}. One target, no fallback: the heartbeat says where I/O goes. */
export async function sendHeartbeat(deps: ApiActDeps, input: HeartbeatInput): Promise<ApiActResult> {
  const { client, config, log } = deps;
  const built = heartbeatBody(deps, input);
  const target = input.targetManageIp;
  const fail = (reason: string): ApiActResult => {
    log.warn(`heartbeat not sent: ${reason}`);
    return { ok: false, reason };
  };
  if (!built.ok) return fail(built.reason);
  if (!isIPv4(target)) return fail('the target SCVM has no known manage IP');
  const r = await client.call(target, { method: 'POST', path: config.api.heartbeatPath, json: built.body });
  if (!r.ok) return fail(r.reason);
  log.debug(`heartbeat sent to ${target}: nfs_target_ip=${built.body.nfs_target_ip} ttl=${built.body.ttl}`);
  return { ok: true, via: target };
}
