// Which addresses the pass pings before deciding.
import type { Config } from '../config/schema';
import { clusterView, cmpIp } from './health';
import { chooseRemote } from './targets';
import type { EngineState } from './state';

/**
 * The local data IP, every known SCVM data IP (config and session lists), the current target, the operator pin's
 * target (so a pin whose target dies is seen, "pin grace"), and the management
 * IPs when the cluster allows the secondary channel (probed every pass: the sweep is concurrent, and waiting one more
 * pass to learn them would add seconds of hung I/O in exactly the storage-network cut the channel exists for).
 */
export function probeTargets(config: Config, state: EngineState): string[] {
  const ips = new Set<string>([config.local.dataIp]);
  const manage = new Set<string>();
  for (const s of config.scvms) {
    ips.add(s.dataIp);
    if (s.dataIp !== config.local.dataIp) manage.add(s.manageIp);
  }
  for (const k of state.sessions.known) {
    ips.add(k.dataIp);
    if (k.manageIp && k.dataIp !== config.local.dataIp) manage.add(k.manageIp);
  }
  if (state.target !== null) ips.add(state.target);
  if (state.pinWatch) ips.add(state.pinWatch.target);
  if (state.secondaryChannel) for (const m of manage) ips.add(m);
  return [...ips].sort(cmpIp);
}

/**
 * The targets that matter now, for the long-lived runner's monitor to watch as closely as the local SCVM: the local
 * SCVM, the current target, the pin's target, and the `next` SCVMs this host would be moved to (its slot if the local
 * SCVM failed now, then its slot if that one failed too, ...), judged from the last session list.
 */
export function watchFirst(config: Config, state: EngineState, next: number): string[] {
  const first = new Set<string>([config.local.dataIp]);
  if (state.target !== null) first.add(state.target);
  if (state.pinWatch) first.add(state.pinWatch.target);
  const views = clusterView(config, state.sessions.known, {});
  const out = new Set<string>();
  for (let i = 0; i < next; i++) {
    const pick = chooseRemote(views, config, (v) => v.alive !== false && !out.has(v.dataIp));
    if (!pick) break;
    out.add(pick.scvm.dataIp);
  }
  return [...first, ...[...out].filter((ip) => !first.has(ip))];
}
