// Target choice, balance: every host sees the same session list, so every host can compute the same assignment of the
// displaced hosts (those whose SCVM is down; one SCVM per host) onto the healthy SCVMs, and take its own slot.
// Least-loaded in a fixed order gives at most ceil(displaced/healthy) per SCVM when the views agree; the Python
// agent's random pick (and plain rendezvous hashing) put 3-4x the mean on the busiest SCVM.
import { cmpIp } from './health';

/** A host (named by its SCVM's data IP) or an SCVM, with its zone. */
export interface Placed {
  ip: string;
  zone: string | null;
}

interface HeapItem {
  load: number;
  ip: string;
}

// Min-heap on (load, ip): the least-loaded SCVM, ties to the lowest address.
class LoadHeap {
  private items: HeapItem[] = [];
  private less(a: HeapItem, b: HeapItem): boolean {
    return a.load !== b.load ? a.load < b.load : cmpIp(a.ip, b.ip) < 0;
  }
  push(item: HeapItem): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): HeapItem | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Deal the displaced hosts, in address order, each to the least-loaded healthy SCVM (own zone first when
 * preferOwnZone and that zone has one). Returns host -> SCVM. Pure and deterministic: same inputs, same map.
 */
export function assignDisplaced(displaced: Placed[], healthy: Placed[], preferOwnZone: boolean): Map<string, string> {
  const out = new Map<string, string>();
  if (healthy.length === 0) return out;
  const load = new Map<string, number>();
  for (const h of healthy) load.set(h.ip, 0);
  const heaps = new Map<string, LoadHeap>();
  const heapFor = (zone: string | null): LoadHeap => {
    const key = zone === null ? '\u0000all' : 'z:' + zone;
    let heap = heaps.get(key);
    if (!heap) {
      heap = new LoadHeap();
      for (const h of healthy) if (zone === null || h.zone === zone) heap.push({ load: 0, ip: h.ip });
      heaps.set(key, heap);
    }
    return heap;
  };
  const zonesWithHealthy = new Set(healthy.map((h) => h.zone).filter((z): z is string => z !== null));
  const order = [...displaced].sort((a, b) => cmpIp(a.ip, b.ip));
  for (const host of order) {
    const zone = preferOwnZone && host.zone !== null && zonesWithHealthy.has(host.zone) ? host.zone : null;
    const heap = heapFor(zone);
    // Loads also change through the other heaps: an entry whose load is stale is refreshed and pushed back.
    for (;;) {
      const top = heap.pop()!;
      const current = load.get(top.ip)!;
      if (current !== top.load) {
        heap.push({ load: current, ip: top.ip });
        continue;
      }
      load.set(top.ip, current + 1);
      heap.push({ load: current + 1, ip: top.ip });
      out.set(host.ip, top.ip);
      break;
    }
  }
  return out;
}
