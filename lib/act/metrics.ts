// The metrics file: Prometheus's text format (version 0.0.4) on the RAM disk, for node_exporter's textfile collector
// (dom0) or any scraper that reads a file. Written whole through a temp file and a rename, so a reader never sees half.
import { writeFileBounded } from '../runtime/files';

/** What the metrics say; times are wall-clock seconds, durations seconds. */
export interface MetricsInput {
  rerouted: boolean;
  reroutedSec: number;
  localUp: boolean;
  noHealthyTarget: boolean;
  /** successful switches by reason, since the event store began (a reboot) */
  switches: Record<string, number>;
  switchFailures: number;
  lastPassAt: number | null;
  lastPassDurationSec: number | null;
  pinActive: boolean;
  pinForced: boolean;
  apiOk: boolean | null;
  /** per SCVM data IP: round trip (s, null when no echo came back) and loss (0..1) */
  icmp: Record<string, { rttSec: number | null; loss: number }>;
  runnerRestarts: number;
  events: Record<'syslog' | 'hook', { failed: number; dropped: number }>;
}

type Sample = [labels: Record<string, string>, value: number];

const esc = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const num = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : 'NaN');

function family(name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${num(value)}`);
  }
  return lines.join('\n');
}

const one = (v: number): Sample[] => [[{}, v]];
const bool = (v: boolean) => (v ? 1 : 0);

/** The metrics file's text. */
export function metricsText(m: MetricsInput): string {
  const ips = Object.keys(m.icmp).sort();
  const parts = [
    family('reroute_rerouted', 'gauge', 'The NFS route goes via a remote SCVM (1) or the local one (0).', one(bool(m.rerouted))),
    family('reroute_rerouted_seconds', 'gauge', 'Seconds the route has been off the local SCVM (0 when on it).', one(m.reroutedSec)),
    family('reroute_local_scvm_up', 'gauge', 'The local SCVM is judged healthy (1) or down (0).', one(bool(m.localUp))),
    family('reroute_no_healthy_target', 'gauge', 'No SCVM is healthy enough to route to: the route is kept where it is.', one(bool(m.noHealthyTarget))),
    family(
      'reroute_switches_total',
      'counter',
      'Route switches that took effect, by the reason code of docs/decision.md.',
      Object.keys(m.switches).sort().map((r) => [{ reason: r }, m.switches[r]!] as Sample),
    ),
    family('reroute_switch_failures_total', 'counter', 'Route switches that failed.', one(m.switchFailures)),
    family('reroute_last_pass_timestamp_seconds', 'gauge', 'Wall-clock time of the last pass.', m.lastPassAt === null ? [] : one(m.lastPassAt)),
    family('reroute_last_pass_duration_seconds', 'gauge', 'How long the last pass took.', m.lastPassDurationSec === null ? [] : one(m.lastPassDurationSec)),
    family('reroute_pin_active', 'gauge', 'An operator pin (reroute route --target) is in force.', one(bool(m.pinActive))),
    family('reroute_pin_forced', 'gauge', 'The pin was set with --force (kept while its target fails).', one(bool(m.pinForced))),
    family('reroute_api_ok', 'gauge', 'The last asks for the session list were answered (1) or failed (0).', m.apiOk === null ? [] : one(bool(m.apiOk))),
    family(
      'reroute_icmp_rtt_seconds',
      'gauge',
      'Average ICMP round trip to each SCVM in the last pass (absent when no echo came back).',
      ips.filter((ip) => m.icmp[ip]!.rttSec !== null).map((ip) => [{ scvm: ip }, m.icmp[ip]!.rttSec!] as Sample),
    ),
    family('reroute_icmp_loss_ratio', 'gauge', 'Share of ICMP echoes lost to each SCVM in the last pass (0..1).', ips.map((ip) => [{ scvm: ip }, m.icmp[ip]!.loss] as Sample)),
    family('reroute_runner_restarts_total', 'counter', 'Runners started after the one before died (its lock taken over).', one(m.runnerRestarts)),
    family(
      'reroute_event_delivery_failures_total',
      'counter',
      'Events that syslog or the hook failed to take (logger missing or failing, hook failing or timed out), by this process.',
      (['syslog', 'hook'] as const).map((c) => [{ channel: c }, m.events[c].failed] as Sample),
    ),
    family(
      'reroute_events_dropped_total',
      'counter',
      'Events dropped from a full delivery queue, by this process.',
      (['syslog', 'hook'] as const).map((c) => [{ channel: c }, m.events[c].dropped] as Sample),
    ),
  ];
  return parts.join('\n') + '\n';
}

/** Write the metrics file whole (bounded, off the main thread). Throws the file error. */
export async function writeMetrics(path: string, m: MetricsInput): Promise<void> {
  await writeFileBounded(path, metricsText(m), { mode: 0o644, dirMode: 0o755 });
}
