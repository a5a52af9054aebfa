// `reroute probe [ip...] [--json]`: the agent's ICMP sweep on demand, so support sees what the agent sees.
import { UsageError } from '../../errors';
import { existsSync } from 'node:fs';
import { loadConfig, configPath } from '../../config/load';
import { probeSchema, type Config } from '../../config/schema';
import { isIPv4 } from '../../net/ipv4';
import { probe } from '../../observe/icmp/prober';
import type { ProbeResult } from '../../types';
import { verboseLog, type CommandEnv } from '../context';

const COLUMNS = ['ip', 'sent', 'recv', 'loss%', 'rtt min/avg/max ms', 'verdict'] as const;

/** The local SCVM's data IP, then every configured SCVM's, each once. */
export function defaultTargets(config: Config): string[] {
  return [...new Set([config.local.dataIp, ...config.scvms.map((s) => s.dataIp)])];
}

const ms = (n: number | null) => (n === null ? '-' : n.toFixed(2));

function verdict(r: ProbeResult): string {
  if (r.reachable) return 'reachable';
  return r.error ? `unreachable (${r.error})` : 'unreachable';
}

/** One line per target, columns padded to their widest cell. */
export function formatTable(results: ProbeResult[]): string[] {
  const rows = results.map((r) => [
    r.ip,
    String(r.sent),
    String(r.received),
    r.lossPct.toFixed(0),
    r.received ? `${ms(r.rttMinMs)}/${ms(r.rttAvgMs)}/${ms(r.rttMaxMs)}` : '-',
    verdict(r),
  ]);
  const all = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, c) => Math.max(...all.map((row) => row[c]!.length)));
  return all.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
}

/**
 * The config, or null when there is no config file and IPs were given: a diagnostic works on a host that has none.
 * A config file that exists but is wrong is still an error.
 */
function configFor(ips: string[], env: CommandEnv): Config | null {
  const path = configPath(env.globals.config);
  if (!existsSync(path)) {
    if (ips.length === 0) {
      throw new UsageError(`probe: no IPs given and no config file at ${path} to take the SCVMs from: give the IPs, or --config <file>`);
    }
    if (env.globals.verbose) env.display.err(`info: no config file at ${path}: probing with the default probe settings`);
    return null;
  }
  return loadConfig(path).config;
}

/** Probe the given IPs (default: the known SCVM data IPs) with the configured settings; exit 0 whatever they answer. */
export async function run(opts: { ips: string[]; json: boolean }, env: CommandEnv): Promise<number> {
  const bad = opts.ips.filter((ip) => !isIPv4(ip));
  if (bad.length > 0) {
    throw new UsageError(`probe: not an IPv4 address: ${bad.join(', ')} (give dotted quads such as 10.10.85.15)`);
  }
  const config = configFor(opts.ips, env);
  const settings = config?.probe ?? probeSchema.parse({});
  const targets = opts.ips.length > 0 ? [...new Set(opts.ips)] : defaultTargets(config!);
  const results = await probe(targets, settings, verboseLog(env));
  const ordered = targets.map((ip) => results[ip]!);
  if (opts.json) env.display.out(JSON.stringify({ settings, results: ordered }));
  else formatTable(ordered).forEach((line) => env.display.out(line));
  return 0;
}
