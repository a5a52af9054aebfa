// A `reroute simulate` run as the timeline's input: its switches, pins and scripted facts as the agent's events
// would tell them, on an axis of seconds from the run's start. Pure.
import type { Config } from '../../config/schema';
import { SIM_EPOCH_MS, type SimReport } from '../../decide/simulate';
import type { AgentEvent, NewEvent } from '../../state/events';
import type { Now, TimelineInput } from './model';

const wall = (sec: number) => SIM_EPOCH_MS + sec * 1000;

/** The events a simulated run would have told, in time order and numbered. */
export function simulatedEvents(report: SimReport): AgentEvent[] {
  const events: NewEvent[] = [];
  for (const s of report.switches) {
    events.push({ at: wall(s.atSec), kind: 'switch', from: s.from || 'none', to: s.to, reason: s.reason, because: s.because.slice(0, 600), ok: s.ok, ...(s.ok ? {} : { error: 'scripted failure' }) });
  }
  for (const p of report.pins) {
    if (p.target === undefined || p.kind === 'refused') continue;
    if (p.kind === 'set') events.push({ at: wall(p.atSec), kind: 'pin-set', target: p.target, until: p.untilSec === undefined ? null : wall(p.untilSec), force: p.force ?? false, who: 'operator' });
    else events.push({ at: wall(p.atSec), kind: 'pin-cleared', target: p.target, who: p.kind === 'removed' ? 'operator' : 'agent', why: p.kind === 'removed' ? 'route --auto' : (p.why ?? 'cleared') });
  }
  for (const f of report.facts) {
    if (f.was === null) continue;
    if (f.check === 'api') events.push(f.now === 'down' ? { at: wall(f.atSec), kind: 'api-down', why: 'scripted: the API does not answer' } : { at: wall(f.atSec), kind: 'api-up', from: 'the scripted cluster' });
    else if (f.ip !== null) events.push({ at: wall(f.atSec), kind: 'scvm', ip: f.ip, check: f.check, was: f.was, now: f.now });
  }
  // the order they happened in; at one second the operator's command and the facts come before the pass's switch
  const rank = (e: NewEvent) => (e.kind === 'switch' ? 1 : 0);
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at - b.e.at || rank(a.e) - rank(b.e) || a.i - b.i)
    .map(({ e }, i) => ({ ...e, seq: i + 1 }) as AgentEvent);
}

/** What was so at the run's end: each SCVM's ping and session, the API, the route. */
function endOf(report: SimReport): Now {
  const scvm: Now['scvm'] = {};
  let apiOk: boolean | null = null;
  for (const f of report.facts) {
    if (f.check === 'api') apiOk = f.now === 'up';
    else if (f.ip !== null) scvm[f.ip] = { ...scvm[f.ip], [f.check]: f.now };
  }
  const last = report.routeBySec.at(-1);
  return { scvm, apiOk, target: last === undefined ? null : last.split(',')[0] || 'none' };
}

/** The timeline's input for a simulated run of `config`'s cluster. */
export function simulatedTimeline(report: SimReport, config: Config, notes: string[]): TimelineInput {
  const scvms = [...new Set([config.local.dataIp, ...config.scvms.map((s) => s.dataIp)])];
  return {
    title: `reroute simulate: ${report.name}`,
    from: SIM_EPOCH_MS,
    to: wall(report.durationSec),
    localIp: config.local.dataIp,
    scvms,
    events: simulatedEvents(report),
    lanes: true,
    now: endOf(report),
    axis: { kind: 'elapsed', zero: SIM_EPOCH_MS },
    notes,
  };
}
