// Operators are told (issue 30): a process's events, from where they happen to the event store, syslog, the notify
// hook and the metrics file. A pass calls switched() as a switch takes effect and passDone() at its end, under the pass
// lock; the store (lib/state/events.ts) numbers and keeps the events, and notes what was last seen, so the next
// minute's runner goes on from it and tells nothing twice. Delivery (syslog, the hook) runs after the pass, one event
// at a time per channel, each a child process with a timeout (lib/act): a missing logger or a hung hook costs its
// timeout per event, never a pass. Only the process that runs the passes on its own delivers: the runner, and a
// one-pass `loop` at its end; `route` stores its events and the runner tells them at its next pass.
import type { Config } from '../config/schema';
import type { Decision, Outcome } from '../decide';
import { OneAtATime } from '../act/deliver';
import { runHook } from '../act/hook';
import { writeMetrics } from '../act/metrics';
import { sendToSyslog, syslogLine } from '../act/syslog';
import { monotonicMs } from '../runtime/host';
import type { Log } from '../runtime/log';
import { eventPaths, loadSent, loadStore, saveLasting, saveSent, saveStore } from '../state/event-store';
import {
  allEvents,
  append,
  emptyStore,
  eventFields,
  eventsOfPass,
  priorityOf,
  switchEvent,
  type AgentEvent,
  type Channel,
  type EventStore,
  type NewEvent,
  type PassFacts,
  type Sent,
} from '../state/events';
import type { State } from '../state/schema';
import type { Observations } from '../types';

/** What a pass hands over at its end. */
export interface PassEnd {
  decision: Decision;
  outcome: Outcome;
  obs: Observations;
  /** the state after the pass */
  state: State;
  pinBefore: State['pin'];
  /** the pass ran an operator's edit (`route`) */
  byOperator: boolean;
  /** agent time of the pass */
  now: number;
}

export interface Told {
  /** A switch took effect: noted now (no I/O), stored by the pass's end (or close()). */
  switched(d: Pick<Decision, 'from' | 'target' | 'reason' | 'because'>): void;
  /** The end of a pass, under the pass lock: store the pass's events, hand them to syslog and the hook, the metrics. */
  passDone(end: PassEnd): Promise<void>;
  /** Any event noted outside a pass (a runner restarted, a config rejected): stored by the next pass or close(). */
  tell(e: NewEvent): void;
  /** The process ends: store what is still noted only; deliver what waits for up to `waitMs`; note how far. */
  close(waitMs: number): Promise<void>;
}

/** A runner that took the runner lock over from one that died (lib/runtime/lock.ts says whose it was). */
export const runnerRestarted = (after: string): NewEvent => ({ at: Date.now(), kind: 'runner-restarted', after: after.slice(0, 600) });

/** The config was rejected and the last good one kept (issue 29): one call, `told.tell(configRejected(...))`. */
export const configRejected = (file: string, error: string, kept: string): NewEvent => ({
  at: Date.now(),
  kind: 'config-rejected',
  file,
  error: error.slice(0, 600),
  kept,
});

/** The facts of a pass as the event rules take them (pure). */
export function passFacts(config: Config, end: PassEnd, at: number): PassFacts {
  const { decision, outcome, obs, state } = end;
  const s = obs.sessions;
  const list: PassFacts['list'] =
    s.reused || (!s.ok && s.skipped)
      ? null
      : s.ok
        ? { ok: true, from: s.from, sessions: s.sessions.map((x) => ({ dataIp: x.dataIp, alive: x.alive })) }
        : { ok: false, why: s.reason };
  const icmp: PassFacts['icmp'] = {};
  for (const [ip, r] of Object.entries(obs.probes)) if (r.sent > 0) icmp[ip] = r.reachable ? 'up' : 'down';
  const sw = outcome.switched;
  return {
    at,
    localIp: config.local.dataIp,
    target: state.engine.target,
    decision,
    ...(sw && !sw.ok ? { switchFailed: { from: decision.from.join(',') || 'none', to: decision.target, error: sw.error ?? 'failed' } } : {}),
    localDown: state.engine.local.down,
    pinBefore: end.pinBefore,
    pinAfter: state.pin,
    byOperator: end.byOperator,
    agentNow: end.now,
    list,
    icmp,
  };
}

const CHANNELS: Channel[] = ['syslog', 'hook'];
/** A new store's name; no secret, so not node:crypto (about 19 ms a one-pass `loop`: BENCHMARKS.md, "Start-up tricks"). */
const newEpoch = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** Open the process's teller. `deliver`: this process sends to syslog and the hook (the runner, a one-pass loop). */
export function openTold(config: Config, log: Log, opts: { deliver: boolean; dryRun: boolean }): Told {
  const paths = eventPaths(config.paths);
  const host = config.hypervisorIp ?? config.local.dataIp;
  const noted: NewEvent[] = [];
  let mine: { store: EventStore; text: string | null } | null = null;
  let sent: Sent | null = null;
  let metricsAt = Number.NEGATIVE_INFINITY;
  /** the last event of the store handed to each channel */
  let queued: Record<Channel, number> = { syslog: 0, hook: 0 };
  let lastFacts: { end: PassEnd; at: number } | null = null;

  // events.sent is written one write at a time, the last state last (two writes at once would race for its temp file,
  // and an older one landing last would have the next runner tell an event again)
  let sentWrite: Promise<void> | null = null;
  let sentDirty = false;
  const writeSent = (): Promise<void> => {
    if (sentWrite) {
      sentDirty = true;
      return sentWrite;
    }
    sentWrite = (async () => {
      do {
        sentDirty = false;
        for (const c of CHANNELS) Object.assign(sent![c], queues[c].stats);
        await saveSent(paths.sent, sent!, log);
      } while (sentDirty);
      sentWrite = null;
    })();
    return sentWrite;
  };
  const started = (c: Channel) => (e: AgentEvent) => {
    if (!sent || e.seq <= sent[c].seq) return;
    sent[c].seq = e.seq;
    void writeSent();
  };
  // one line a minute for the same failure (the log's repeat rule), not one an event: the seq goes to debug
  const failed = (c: Channel) => (e: AgentEvent, err: Error) => {
    const why = err.message.replace(/^command ".*" /s, '');
    log.warn(`events: ${c === 'syslog' ? `syslog via ${config.events.logger}` : 'hooks.onEvent'} failed: ${why}; fix it, or turn it off (docs/events.md)`);
    log.debug(`events: event ${e.seq} (${e.kind}) not taken by ${c}`);
  };
  const queues: Record<Channel, OneAtATime<AgentEvent>> = {
    syslog: new OneAtATime(
      config.events.queueMax,
      (e) => sendToSyslog(syslogLine(eventFields(e, host)), priorityOf(e), { command: config.events.logger, timeoutMs: config.events.timeoutMs }),
      (e) => started('syslog')(e),
      failed('syslog'),
    ),
    hook: new OneAtATime(config.events.queueMax, (e) => runHook(config.hooks.onEvent!, eventFields(e, host), config.hooks.timeoutMs), (e) => started('hook')(e), failed('hook')),
  };
  const channelOn = (c: Channel) => (c === 'syslog' ? config.events.syslog : config.hooks.onEvent !== null);

  /** The store as it is now: the file when another process wrote it, else what this process holds. */
  async function current(): Promise<EventStore> {
    const loaded = await loadStore(paths.store, log);
    if (mine && (loaded.text === null || loaded.text === mine.text || loaded.store === null)) return mine.store;
    if (loaded.store && (!mine || loaded.store.epoch !== mine.store.epoch || loaded.store.seq >= mine.store.seq)) return loaded.store;
    return mine?.store ?? emptyStore(newEpoch());
  }

  /** Add events to the store and write it; the switch and pin events to the persistent file too. */
  async function store(base: EventStore, events: NewEvent[], conditions?: EventStore['conditions']): Promise<EventStore> {
    const { store: next, added } = append(conditions ? { ...base, conditions } : base, events, config.events);
    // a steady pass changes nothing: the store is not written
    const same = added.length === 0 && JSON.stringify(next.conditions) === JSON.stringify(base.conditions);
    if (same && mine?.store === base && mine.text !== null) return base;
    mine = { store: next, text: await saveStore(paths.store, next, log) };
    await saveLasting(paths.lasting, added, config.events.keepLasting, log);
    for (const e of added) log.debug(`event ${e.seq} ${e.kind}`);
    return next;
  }

  /** Hand the store's events not yet started to syslog and the hook. */
  async function deliver(s: EventStore): Promise<void> {
    if (!opts.deliver) return;
    if (!sent || sent.epoch !== s.epoch) {
      sent = await loadSent(paths.sent, s.epoch);
      for (const c of CHANNELS) Object.assign(queues[c].stats, { failed: sent[c].failed, dropped: sent[c].dropped });
      queued = { syslog: sent.syslog.seq, hook: sent.hook.seq };
    }
    const events = allEvents(s);
    for (const c of CHANNELS) {
      const fresh = events.filter((e) => e.seq > queued[c]);
      if (fresh.length === 0) continue;
      queued[c] = fresh[fresh.length - 1]!.seq;
      if (channelOn(c)) queues[c].push(fresh);
      else started(c)(fresh[fresh.length - 1]!);
    }
  }

  async function metrics(s: EventStore, end: PassEnd, at: number, force: boolean): Promise<void> {
    if (config.paths.metrics === null) return;
    const mono = monotonicMs();
    if (!force && mono - metricsAt < config.metrics.everySec * 1000) return;
    metricsAt = mono;
    const { state, obs } = end;
    const icmp: Record<string, { rttSec: number | null; loss: number }> = {};
    for (const [ip, r] of Object.entries(obs.probes)) if (r.sent > 0) icmp[ip] = { rttSec: r.rttAvgMs === null ? null : r.rttAvgMs / 1000, loss: r.lossPct / 100 };
    const c = s.conditions;
    try {
      await writeMetrics(config.paths.metrics, {
        rerouted: c.reroutedSince !== null,
        reroutedSec: c.reroutedSince === null ? 0 : Math.max(0, Math.round((at - c.reroutedSince) / 1000)),
        localUp: c.localDown !== true,
        noHealthyTarget: c.noTarget === true,
        switches: s.counters.switches,
        switchFailures: s.counters.switchFailures,
        lastPassAt: state.lastPass ? at / 1000 : null,
        lastPassDurationSec: state.lastPass ? state.lastPass.durationMs / 1000 : null,
        pinActive: state.pin !== null,
        pinForced: state.pin?.force === true,
        apiOk: c.apiOk,
        icmp,
        runnerRestarts: s.counters.runnerRestarts,
        events: { syslog: { ...queues.syslog.stats }, hook: { ...queues.hook.stats } },
      });
    } catch (e) {
      log.debug(`events: cannot write ${config.paths.metrics} (${(e as Error).message})`);
    }
  }

  async function passDone(end: PassEnd): Promise<void> {
    const at = Date.now();
    const base = await current();
    const { events, conditions } = eventsOfPass(base.conditions, passFacts(config, end, at));
    const switchedNow = noted.some((e) => e.kind === 'switch') || events.some((e) => e.kind === 'switch');
    const s = await store(base, [...noted.splice(0), ...events], conditions);
    lastFacts = { end, at };
    await metrics(s, end, at, switchedNow);
    await deliver(s);
  }

  return {
    switched(d) {
      if (!opts.dryRun) noted.push(switchEvent(Date.now(), d));
    },
    tell(e) {
      if (!opts.dryRun) noted.push(e);
    },
    async passDone(end) {
      if (opts.dryRun) return;
      try {
        await passDone(end);
      } catch (e) {
        log.error(`events: ${(e as Error).message}; the pass goes on`); // a bug, said; never a reason to fail a pass
      }
    },
    async close(waitMs) {
      if (noted.length > 0) {
        const s = await store(await current(), noted.splice(0));
        if (lastFacts) await metrics(s, lastFacts.end, lastFacts.at, true);
        await deliver(s);
      }
      if (!opts.deliver) return;
      const until = performance.now() + waitMs;
      for (const c of CHANNELS) await queues[c].drain(Math.max(0, until - performance.now()));
      for (const c of CHANNELS) queues[c].stop(); // what still waits is the next process's to tell
      if (sent) await writeSent();
    },
  };
}
