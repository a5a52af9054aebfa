// Heartbeat to the current target SCVM, so the cluster monitor ("insight") knows where this host's I/O goes:
// 0 = normal (target is the local SCVM), 2 = switched away, 1 = no heartbeat (ttl counted down to 0).
import { isIPv4 } from '../net/ipv4';
import type { ApiActDeps, ApiActResult } from './refresh';

/** Who pinned the route, from where and why (route --target), for the cluster's monitor. */
export interface PinAudit {
  by?: string | null;
  from?: string | null;
  reason?: string | null;
  force?: boolean;
}

export interface HeartbeatInput {
  /** manage IP of the SCVM the route points at now (where the heartbeat goes) */
  targetManageIp: string | null;
  /** the route's current next hop for the NFS VIP */
  nfsTargetIp: string | null;
  /** this host's management IP (config.hypervisorIp or the one found on the host) */
  hypervisorIp: string | null;
  /** the pin that decides the route now, if one does */
  pin?: PinAudit | null;
}

/**
 * Whether this process's heartbeats still carry a pin's audit fields. The documented body is exactly five keys
 * (DESIGN.md); issue 29 asks for the pin's who, where and why beside them. An SCVM that refuses the longer body (HTTP
 * 400 or 422) gets the five keys again at once, and only those from then on in this process.
 */
let pinFieldsRefused = false;

/** The pin's audit fields as heartbeat keys (only those known). */
export function pinFields(pin: PinAudit): Record<string, string> {
  const f: Record<string, string> = { pin_forced: pin.force ? 'true' : 'false' };
  if (pin.by) f.pin_by = pin.by;
  if (pin.from) f.pin_from = pin.from;
  if (pin.reason) f.pin_reason = pin.reason;
  return f;
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

/** POST api.heartbeatPath to the target's manage IP with body {hypervisor_ip, local_scvm_data_ip,
 * local_scvm_manage_ip, nfs_target_ip, ttl} (and a pin's audit fields, see above). One target, no fallback: the
 * heartbeat says where I/O goes. */
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
  const post = (json: Record<string, string | number>) => client.call(target, { method: 'POST', path: config.api.heartbeatPath, json });
  let r;
  if (input.pin && !pinFieldsRefused) {
    r = await post({ ...built.body, ...pinFields(input.pin) });
    if (!r.ok && / HTTP 4(00|22)\b/.test(r.reason)) {
      pinFieldsRefused = true;
      log.warn(`heartbeat: ${target} refused the pin's audit fields (${r.reason}); sending the five documented keys only`);
      r = await post(built.body);
    }
  } else {
    r = await post(built.body);
  }
  if (!r.ok) return fail(r.reason);
  log.debug(`heartbeat sent to ${target}: nfs_target_ip=${built.body.nfs_target_ip} ttl=${built.body.ttl}`);
  return { ok: true, via: target };
}
