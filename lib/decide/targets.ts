// Target choice: which healthy remote to take. Own zone first, deterministic, balanced across hosts failing over together.
import type { Config } from '../config/schema';
import { assignDisplaced, type Placed } from './assign';
import type { ScvmView } from './health';

/** A chosen remote and the words that explain the choice. */
export interface RemoteChoice {
  scvm: ScvmView;
  why: string;
}

/**
 * Pick this host's slot among the SCVMs for which `usable` holds. The hosts whose SCVM is not usable (this one
 * always among them) are dealt onto the usable ones by assignDisplaced, identically on every host that sees the
 * same list; when views differ each host still gets a usable target, only the balance suffers.
 */
export function chooseRemote(
  views: ScvmView[],
  config: Config,
  usable: (v: ScvmView) => boolean,
): RemoteChoice | null {
  const me = config.local.dataIp;
  const myZone = config.zone ?? config.local.zone ?? views.find((v) => v.dataIp === me)?.zone ?? null;
  const healthy: Placed[] = [];
  const displaced: Placed[] = [{ ip: me, zone: myZone }];
  for (const v of views) {
    if (v.dataIp === me) continue;
    if (usable(v)) healthy.push({ ip: v.dataIp, zone: v.zone });
    else displaced.push({ ip: v.dataIp, zone: v.zone });
  }
  if (healthy.length === 0) return null;
  const slot = assignDisplaced(displaced, healthy, config.decide.preferOwnZone).get(me)!;
  const scvm = views.find((v) => v.dataIp === slot)!;
  const zoneWords =
    config.decide.preferOwnZone && myZone !== null
      ? scvm.zone === myZone
        ? `own zone ${myZone}, `
        : `no usable SCVM in own zone ${myZone}, `
      : '';
  const why = `${zoneWords}slot of this host when ${displaced.length} host(s) without a usable SCVM share ${healthy.length} usable SCVM(s)`;
  return { scvm, why };
}
