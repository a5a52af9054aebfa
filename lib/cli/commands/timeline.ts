// `reroute timeline [--since 2h] [--out file.svg]`: what happened, as one picture. Reads only (no lock, writes
// nothing but --out): the event store on the RAM disk (each SCVM's verdicts, the API, the switches and pins) and the
// persistent copy of the switches and pins, which is all there is after a reboot.
import { configPath, loadConfig } from '../../config/load';
import { readText, writeFileBounded } from '../../runtime/files';
import { silentLog } from '../../runtime/log';
import { eventPaths, loadStore } from '../../state/event-store';
import { allEvents, parseLasting, type AgentEvent } from '../../state/events';
import { loadState } from '../../state/store';
import { UsageError } from '../../errors';
import { parseDuration } from '../duration';
import type { CommandEnv } from '../context';
import { buildModel, type TimelineInput } from '../timeline/model';
import { renderSvg } from '../timeline/svg';

/**
 * The window drawn: back `sinceMs` from now, but starting a little before the first event in it, so that a failover
 * an hour ago and its recovery are not a hairline at the right edge of a long steady stretch.
 */
export function windowOf(now: number, sinceMs: number, events: AgentEvent[]): { from: number; to: number } {
  const from = now - sinceMs;
  const first = events.find((e) => e.at >= from && e.at <= now);
  if (!first) return { from, to: now };
  const pad = Math.max(5000, (now - first.at) * 0.05);
  return { from: Math.max(from, first.at - pad), to: now };
}

export async function run(opts: { since: string; out?: string }, env: CommandEnv): Promise<number> {
  const sinceMs = parseDuration(opts.since, '--since');
  const path = configPath(env.globals.config);
  const { config } = loadConfig(path);
  const paths = eventPaths(config.paths);
  const [{ store }, lastingText, loaded] = await Promise.all([
    loadStore(paths.store, silentLog),
    readText(paths.lasting).catch(() => null),
    loadState(config.paths, silentLog, { moveAsideCorrupt: false }),
  ]);
  const lasting = parseLasting(lastingText);
  const events = [...lasting, ...(store ? allEvents(store) : [])].sort((a, b) => a.at - b.at);
  const now = Date.now();
  const { from, to } = windowOf(now, sinceMs, events);
  const notes = [
    store
      ? `Events from ${paths.store} (RAM disk: ${store.events.length + store.scvm.length} kept) and ${paths.lasting} (persistent: ${lasting.length} switches and pins).`
      : `No event store at ${paths.store} (the RAM disk is emptied at a reboot): the switches and pins are the ${lasting.length} kept in ${paths.lasting}.`,
  ];
  const input: TimelineInput = {
    title: `reroute timeline: host ${config.hypervisorIp ?? config.local.dataIp}, NFS ${config.nfsVip}`,
    from,
    to,
    localIp: config.local.dataIp,
    scvms: [...new Set([config.local.dataIp, ...config.scvms.map((s) => s.dataIp)])],
    events,
    lanes: store !== null,
    now: {
      scvm: store?.conditions.scvm ?? {},
      target: loaded.state.engine.target,
      apiOk: store?.conditions.apiOk ?? null,
    },
    axis: { kind: 'clock', utcOffsetMin: -new Date(now).getTimezoneOffset() },
    notes,
  };
  const svg = renderSvg(buildModel(input));
  if (opts.out === undefined) {
    env.display.out(svg.trimEnd());
    return 0;
  }
  try {
    await writeFileBounded(opts.out, svg, { mode: 0o644 });
  } catch (err) {
    throw new UsageError(`--out ${opts.out}: cannot write it (${(err as Error).message}); give a writable path`);
  }
  env.display.err(`timeline: ${opts.out} (${events.filter((e) => e.at >= from).length} events from ${new Date(from).toISOString()})`);
  return 0;
}
