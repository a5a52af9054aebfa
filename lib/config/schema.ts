// The config file's schema: every key with its type, default (units beside it) and description in one place.
// docs/config.md is generated from this file by scripts/gen-config-doc; a test keeps the two in step.
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { isIPv4 } from '../net/ipv4';
import { defaultPaths } from './paths';
import type { Platform } from './platform';

const ipv4 = () =>
  z.string({ invalid_type_error: 'a dotted-quad IPv4 address' }).refine(isIPv4, {
    message: 'a dotted-quad IPv4 address such as 10.10.85.15',
  });

const ms = (def: number, min: number, max: number) => z.number().int().min(min).max(max).default(def);

/** One SCVM of the cluster as the operator (or the deploy tool) knows it. */
/** A file's path: absolute, since cron runs the agent from whatever directory it likes. */
const absolutePath = () => z.string().min(1).refine((p) => p.startsWith('/'), 'an absolute path (starting with /)');

export const scvmSchema = z
  .object({
    dataIp: ipv4().describe('storage ("data") IP of the SCVM: the normal next hop for the NFS VIP'),
    manageIp: ipv4().describe('management IP of the SCVM: where its API listens'),
    zone: z.string().min(1).max(64).optional().describe('zone of the SCVM in a stretched cluster'),
  })
  .strict();

export const apiSchema = z
  .object({
    scheme: z.enum(['http', 'https']).default('http').describe('scheme of the SCVM API'),
    port: z.number().int().min(1).max(65535).default(80).describe('TCP port of the SCVM API on the management IP'),
    username: z.string().min(1).optional().describe('API user; prefer credentialsFile'),
    password: z.string().min(1).optional().describe('API password; prefer credentialsFile (the config must then be mode 0600)'),
    credentialsFile: absolutePath()
      .optional()
      .describe('JSON file {"username","password"}, mode 0600, owned by root; overrides username/password'),
    loginPath: z.string().startsWith('/').default('/api/v3/sessions').describe('POST: login, returns the token'),
    sessionsPath: z
      .string()
      .startsWith('/')
      .default('/api/v2/zbs_session/sessions')
      .describe('GET: list of ZBS sessions (path not public; this is the emulator\'s)'),
    refreshPath: z
      .string()
      .startsWith('/')
      .default('/api/v2/zbs_session/session/{session_id}')
      .describe('PUT: session refresh ("update_local_hypervisor_ip"); {session_id} is replaced'),
    heartbeatPath: z
      .string()
      .startsWith('/')
      .default('/api/v2/reroute/heartbeat')
      .describe('POST: heartbeat to the current target (path not public; this is the emulator\'s)'),
    switchesPath: z
      .string()
      .startsWith('/')
      .default('/api/v2/reroute/config')
      .describe('GET: cluster switches enable_reroute / enable_secondary_data_channel'),
    connectTimeoutMs: ms(1000, 50, 30_000).describe('TCP connect timeout of one request, ms'),
    requestTimeoutMs: ms(2000, 100, 60_000).describe('total timeout of one request, ms'),
    budgetMs: ms(4000, 200, 60_000).describe('time the API part of a pass may take in all, ms'),
    // The bounded race (issue 18, docs/api.md "Which SCVM is asked").
    hedgeFloorMs: ms(150, 10, 60_000).describe(
      'the hedge (one more SCVM asked while the first request is unanswered) never goes sooner than this, ms',
    ),
    hedgeCeilingMs: ms(1000, 10, 60_000).describe(
      'the hedge never goes later than this; in between, after the 95th percentile of recent answer times; the ceiling while none is known, ms',
    ),
    retryTokens: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(10)
      .describe(
        'retry budget of the process: every extra request (the hedge, the next SCVM after a failure) spends a token; empty: one SCVM a call; 0: the local SCVM only',
      ),
    retryRefillSec: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(10)
      .describe('a token comes back every N s; a call that gets an answer gives back what it spent and one more, s'),
    staggerMs: z
      .number()
      .int()
      .min(0)
      .max(5000)
      .optional()
      .describe('no longer used (the race hedges after hedgeFloorMs..hedgeCeilingMs); accepted so that older configs load'),
    switchesRefreshSec: z.number().int().min(10).max(86_400).default(300).describe('re-read cluster switches every N s'),
    sessionsEverySec: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(3)
      .describe(
        'ask for the session list at most every N s while nothing is happening (at once when an ICMP verdict changes or a session-only suspicion waits for confirmation)',
      ),
    heartbeatEverySec: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(10)
      .describe('send the heartbeat every N s (at once when the route\'s target changes); well inside heartbeatTtl\'s window'),
    tokenLifetimeSec: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(86_400)
      .describe('token lifetime assumed when the login answer gives none, s'),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024)
      .describe('answers larger than this are refused, bytes'),
    maxSessions: z.number().int().min(1).max(100_000).default(4096).describe('a session list longer than this is refused'),
  })
  .strict();

export const probeSchema = z
  .object({
    count: z.number().int().min(1).max(100).default(10).describe('ICMP echo requests per target and pass'),
    intervalMs: ms(100, 1, 10_000).describe('gap between echoes to one target, ms'),
    waitMs: ms(1000, 10, 10_000).describe('an echo answered later than this counts as lost, ms'),
    timeoutMs: ms(2000, 50, 30_000).describe('whole sweep deadline, ms'),
    minReplies: z.number().int().min(1).max(100).default(3).describe('replies needed to call a target reachable'),
    payloadBytes: z.number().int().min(0).max(65_507).default(16).describe('ICMP echo payload size, bytes'),
    mtu: z.number().int().min(68).max(65_535).default(1500).describe('MTU the echo packet must fit in (IP + ICMP + payload)'),
    paceMs: ms(1, 0, 1000).describe('pause between bursts of 64 sends so big sweeps are not one burst, ms'),
    // The long-lived runner's monitor (docs/probe.md "The monitor"): echoes all the time instead of a sweep per pass.
    slowIntervalMs: ms(2000, 100, 60_000).describe(
      'monitor: gap between echoes to the SCVMs that do not matter now (intervalMs for those that do), ms',
    ),
    watchNext: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(2)
      .describe('monitor: how many of the SCVMs the engine would take next are watched as closely as the local one'),
    rtoMinMs: ms(200, 10, 10_000).describe('monitor: an echo may stay unanswered at least this long, however fast the round trips, ms'),
    rtoMaxMs: ms(3000, 100, 30_000).describe('monitor: and at most this long, however slow, ms'),
    silenceMs: ms(700, 100, 30_000).describe(
      'monitor: no "down" before nothing at all came back for this long: the longest stall forgiven, ms',
    ),
    downAfter: z.number().int().min(1).max(100).default(3).describe('monitor: echoes in a row unanswered past their wait for "down"'),
    upAfter: z.number().int().min(1).max(100).default(2).describe('monitor: echoes in a row answered for "up" again'),
  })
  .strict();

export const nfsCheckSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'check the NFS data path every pass (a TCP connect to nfsVip:port, routed via the current target); on since the false-verdict benchmark (jittery SCVMs, 30 min a profile) showed no switch with it',
      ),
    port: z.number().int().min(1).max(65535).default(2049).describe('TCP port of the NFS service on the VIP (the ESXi firewall ruleset of the VIB opens 2049 only)'),
    timeoutMs: ms(2000, 100, 30_000).describe('a connect not answered within this fails, ms (2 s lets one lost SYN be sent again)'),
    failures: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe('checks in a row through the same target that must fail before that target counts as failed'),
    forgetAfterSec: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(60)
      .describe('two checks further apart than this are not "in a row" (the agent did not run in between), s'),
    avoidSec: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(600)
      .describe('a remote SCVM whose NFS failed is no target for this long (its NFS cannot be checked while the route goes elsewhere), s'),
  })
  .strict();

export const decideSchema = z
  .object({
    backToNormalSec: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(180)
      .describe('local must be healthy this long without a break before the route goes back, s'),
    maxBackToNormalSec: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(1800)
      .describe('cap of the stable period after flap damping has lengthened it, s'),
    flapHalfLifeSec: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(900)
      .describe('half-life of the flap penalty: each relapse doubles the stable period, decaying with this, s'),
    sessionConfirmLists: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(2)
      .describe(
        'fresh session lists that must show the local session missing or dead (local answering ping) before the route leaves; a list showing it alive from an SCVM whose lists did not show it missing starts the count again; 1 = a single list suffices',
      ),
    sessionConfirmSec: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(60)
      .describe('those lists count only while no older than this, s; a list showing the session alive in between does not reset the count'),
    pinGraceSec: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(60)
      .describe('an operator pin whose target fails is held this long, then cleared once LOOP finds a healthy target (never a --force pin), s'),
    preferOwnZone: z.boolean().default(true).describe('pick targets in the host\'s own zone first'),
    useSecondaryDataChannel: z
      .enum(['cluster', 'never'])
      .default('cluster')
      .describe('route via management IPs when no data IP is usable: "cluster" follows enable_secondary_data_channel'),
  })
  .strict();

// Each path's default depends on the platform (lib/config/paths.ts): filled in by completeConfig, after parsing.

export const pathsSchema = z
  .object({
    state: absolutePath()
      .optional()
      .describe(`state file (JSON, mode 0600): what must survive a reboot; rewritten only when it changes`),
    record: absolutePath()
      .optional()
      .describe(`record of recent passes (journal, last lists): rewritten every pass, so on a RAM-backed path`),
    lock: absolutePath().optional().describe(`lock taken around each pass (a RAM-backed path)`),
    log: absolutePath().optional().describe(`log file (on persistent storage)`),
    logLink: absolutePath()
      .nullable()
      .optional()
      .describe(`symlink to the log where support looks; null for none`),
    metrics: absolutePath()
      .nullable()
      .optional()
      .describe(
        `metrics file, Prometheus text format (docs/events.md); default: reroute.prom beside the record (RAM); point node_exporter's textfile directory at it, or null for none`,
      ),
  })
  .strict();

// Issue 30, "Operators are told" (docs/events.md).
export const eventsSchema = z
  .object({
    syslog: z.boolean().default(true).describe('send each event to syslog as one key=value line (`logger -t reroute`)'),
    logger: z
      .string()
      .min(1)
      .default('logger')
      .describe("the logger command (busybox's on ESXi, util-linux's on dom0), looked up in PATH unless absolute"),
    timeoutMs: ms(2000, 100, 60_000).describe('a logger call that takes longer is killed and counted as failed, ms'),
    queueMax: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe('events waiting for syslog or the hook, each; past it the oldest is dropped and counted'),
    keep: z.number().int().min(10).max(10_000).default(200).describe('events kept in the event store on the RAM disk (per-SCVM ones aside)'),
    keepScvm: z.number().int().min(10).max(10_000).default(200).describe('per-SCVM events (ICMP verdict, session liveness) kept there'),
    keepLasting: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(50)
      .describe('switch and pin events kept on the persistent disk (events.json beside the state file)'),
  })
  .strict();

export const hooksSchema = z
  .object({
    onEvent: z
      .string()
      .min(1)
      .max(4096)
      .nullable()
      .default(null)
      .describe('shell line run through /bin/sh -c for every event, with the event as REROUTE_<KEY>=value variables; null for none'),
    timeoutMs: ms(10_000, 100, 600_000).describe('a hook that runs longer is killed (its process group) and counted as failed, ms'),
  })
  .strict();

export const metricsSchema = z
  .object({
    everySec: z.number().int().min(1).max(3600).default(10).describe('the metrics file is written this often, and at every switch, s'),
  })
  .strict();

export const logSchema = z
  .object({
    level: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('lowest level written'),
    maxBytes: z
      .number()
      .int()
      .min(4096)
      .max(1024 * 1024 * 1024)
      .default(2 * 1024 * 1024)
      .describe('rotate the log file at this size, bytes'),
    maxFiles: z.number().int().min(1).max(100).default(5).describe('log files kept, current one included'),
    steadyEverySec: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .default(3600)
      .describe('a pass that changes nothing is logged once in this long, s (every change and warning is logged at once)'),
  })
  .strict();

export const statusSchema = z
  .object({
    warnReroutedSec: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(900)
      .describe('`status --check` is WARNING when the route has been away from the local SCVM (or pinned) longer than this, s'),
    criticalLastPassSec: z
      .number()
      .int()
      .min(5)
      .max(86_400)
      .default(30)
      .describe('`status --check` is CRITICAL when the last pass is older than this, or passes have failed for longer (a shorter failure: WARNING), s (as installed a pass runs every second)'),
  })
  .strict();

export const configSchema = z
  .object({
    platform: z.enum(['auto', 'esxi', 'xen', 'linux']).default('auto').describe('route backend; auto detects'),
    nfsVip: ipv4().default('192.168.33.2').describe('NFS virtual IP every SCVM answers; its /32 route is what moves'),
    nfsHostIp: ipv4()
      .default('192.168.33.1')
      .describe("host's own address on the local NFS network; left out of the session refresh"),
    hypervisorIp: ipv4()
      .optional()
      .describe("this host's management IP, sent in heartbeats; default: its IP in the local SCVM's management /24, else its first IP"),
    zone: z.string().min(1).max(64).optional().describe("this host's zone in a stretched cluster"),
    local: scvmSchema.describe("this host's own SCVM"),
    scvms: z.array(scvmSchema).max(4096).default([]).describe('seed list of the other SCVMs (the local one may be included)'),
    accessIps: z
      .record(ipv4(), ipv4())
      .default({})
      .describe('RDMA clusters: data IP -> "VMware access IP" used as next hop instead'),
    api: apiSchema.default({}),
    probe: probeSchema.default({}),
    nfsCheck: nfsCheckSchema.default({}),
    decide: decideSchema.default({}),
    heartbeatTtl: z.number().int().min(1).max(1000).default(9).describe('ttl sent in heartbeats; the monitor counts it down'),
    commandTimeoutMs: ms(2000, 100, 60_000).describe('hard timeout of every external command, ms'),
    passDeadlineMs: ms(10_000, 1000, 600_000).describe('deadline of a whole pass, ms; past it the run exits 1'),
    journalSize: z.number().int().min(1).max(10_000).default(200).describe('journal entries kept in the record file, for status; a run of alike passes is one entry'),
    paths: pathsSchema.default({}),
    log: logSchema.default({}),
    status: statusSchema.default({}),
    events: eventsSchema.default({}),
    hooks: hooksSchema.default({}),
    metrics: metricsSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const packet = 20 + 8 + c.probe.payloadBytes;
    if (packet > c.probe.mtu) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['probe', 'payloadBytes'],
        message: `a payload of at most ${c.probe.mtu - 28} bytes (20 IP + 8 ICMP + payload must fit probe.mtu ${c.probe.mtu})`,
      });
    }
    if (c.probe.minReplies > c.probe.count) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['probe', 'minReplies'],
        message: `at most probe.count (${c.probe.count})`,
      });
    }
    if (c.probe.rtoMaxMs < c.probe.rtoMinMs) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['probe', 'rtoMaxMs'],
        message: `at least probe.rtoMinMs (${c.probe.rtoMinMs})`,
      });
    }
    if (c.probe.timeoutMs >= c.passDeadlineMs) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['probe', 'timeoutMs'],
        message: `less than passDeadlineMs (${c.passDeadlineMs})`,
      });
    }
    if (c.nfsCheck.enabled && c.nfsCheck.timeoutMs >= c.passDeadlineMs) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['nfsCheck', 'timeoutMs'],
        message: `less than passDeadlineMs (${c.passDeadlineMs})`,
      });
    }
    if (c.api.budgetMs >= c.passDeadlineMs) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['api', 'budgetMs'],
        message: `less than passDeadlineMs (${c.passDeadlineMs})`,
      });
    }
    if (c.api.hedgeCeilingMs < c.api.hedgeFloorMs) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['api', 'hedgeCeilingMs'],
        message: `at least api.hedgeFloorMs (${c.api.hedgeFloorMs})`,
      });
    }
    if (c.decide.maxBackToNormalSec < c.decide.backToNormalSec) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['decide', 'maxBackToNormalSec'],
        message: `at least decide.backToNormalSec (${c.decide.backToNormalSec})`,
      });
    }
    if ((c.api.username === undefined) !== (c.api.password === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['api', c.api.username === undefined ? 'username' : 'password'],
        message: 'username and password given together (or use api.credentialsFile)',
      });
    }
    if (c.local.dataIp === c.nfsVip) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['local', 'dataIp'], message: 'an address other than nfsVip' });
    }
    sameScvmTwice(c.local, c.scvms, c.nfsVip, ctx);
  });

/**
 * The SCVM list names each SCVM once: a data or management IP given twice (two entries for one SCVM, or a copy-paste
 * that left two SCVMs with one address) and an SCVM whose address is the VIP are refused, naming the entries. The
 * local SCVM may be in the list, with its own management IP.
 */
function sameScvmTwice(
  local: { dataIp: string; manageIp: string },
  scvms: { dataIp: string; manageIp: string }[],
  vip: string,
  ctx: z.RefinementCtx,
): void {
  const seen = { dataIp: new Map<string, string>(), manageIp: new Map<string, string>() };
  seen.dataIp.set(local.dataIp, 'local.dataIp');
  seen.manageIp.set(local.manageIp, 'local.manageIp');
  scvms.forEach((s, i) => {
    const isLocal = s.dataIp === local.dataIp && s.manageIp === local.manageIp;
    for (const key of ['dataIp', 'manageIp'] as const) {
      if (s[key] === vip) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['scvms', i, key], message: 'an address other than nfsVip' });
        continue;
      }
      const before = seen[key].get(s[key]);
      if (before !== undefined && !(isLocal && before.startsWith('local.'))) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['scvms', i, key], message: `an address no other SCVM has (${before} has it)` });
      } else if (before === undefined) seen[key].set(s[key], `scvms.${i}.${key}`);
    }
  });
}

/** The config as parsed: the paths a file does not name are still missing (completeConfig fills them). */
export type ParsedConfig = z.output<typeof configSchema>;
type Paths = { [K in keyof ParsedConfig['paths']]-?: Exclude<ParsedConfig['paths'][K], undefined> };

/** The config as the agent uses it: every default filled in, the paths too. */
export type Config = Omit<ParsedConfig, 'paths'> & { paths: Paths };
export type ConfigInput = z.input<typeof configSchema>;

/** Fill in the paths the config does not name with the defaults of its platform (`host`'s when "auto"). */
export function completeConfig<C extends Omit<ParsedConfig, 'local'>>(parsed: C, host: Platform): Omit<C, 'paths'> & { paths: Paths } {
  const d = defaultPaths(parsed.platform === 'auto' ? host : parsed.platform);
  const p = parsed.paths;
  return {
    ...parsed,
    paths: {
      state: p.state ?? d.state,
      record: p.record ?? d.record,
      lock: p.lock ?? d.lock,
      log: p.log ?? d.log,
      logLink: p.logLink === undefined ? d.logLink : p.logLink,
      metrics: p.metrics === undefined ? join(dirname(p.record ?? d.record), 'reroute.prom') : p.metrics,
    },
  };
}

/**
 * Every key's default, as a config that names only its local SCVM gets them on `host`: for diagnostics that run
 * without a valid config (`reroute doctor`, `install`'s check of the agent's paths).
 */
export function configDefaults(host: Platform): Omit<Config, 'local'> {
  return completeConfig(configSchema.innerType().omit({ local: true }).parse({}), host);
}
