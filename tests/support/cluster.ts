// A simulated cluster in network namespaces: one hypervisor host, three SCVMs, a "switch" namespace holding the storage
// and management bridges. Real routes, real ICMP, real HTTP; the real bin/reroute runs inside the host namespace.
// Network safety: every packet this module causes leaves from a namespace it created; the root namespace sends nothing
// (control of the SCVM processes goes through unix sockets, which are files, not network).
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../../lib/config/schema';
import { bundleForChild, childEnv } from './netns';
import type { EmuRecords } from './zbs-emulator';
import { PrefixedNetns, removeNamespacesWithPrefix, checkPrefix } from './netns-prefix';
import { undoOnSignal } from './on-signal';

const ROOT = join(__dirname, '..', '..');

/** The address plan of DESIGN.md §1. */
export const PLAN = {
  vip: '192.168.33.2',
  nfsPort: 2049,
  host: { dataIp: '10.10.85.11', manageIp: '192.168.85.11', nfsCidr: '192.168.33.1/24' },
  scvms: [
    { name: 'scvm-1', dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
    { name: 'scvm-2', dataIp: '10.10.85.16', manageIp: '192.168.85.16' },
    { name: 'scvm-3', dataIp: '10.10.85.17', manageIp: '192.168.85.17' },
  ],
  apiPort: 80,
  username: 'admin',
  password: 'cluster-lab-password',
} as const;

export type ScvmName = 'scvm-1' | 'scvm-2' | 'scvm-3';
export const SCVM_NAMES: readonly ScvmName[] = ['scvm-1', 'scvm-2', 'scvm-3'];
export type Flavour = 'linux' | 'esxi';

/** The fault switches of one SCVM. */
export type FaultKind =
  | 'drop-icmp'
  | 'link-down'
  | 'api-down'
  | 'api-silent'
  | 'nfs-down'
  | 'session-dead'
  | 'session-missing'
  | 'session-flapping'
  | 'slow-api';
export const FAULT_KINDS: readonly FaultKind[] = [
  'drop-icmp',
  'link-down',
  'api-down',
  'api-silent',
  'nfs-down',
  'session-dead',
  'session-missing',
  'session-flapping',
  'slow-api',
];

/** Knobs of the faults that take one. */
export interface FaultOptions {
  /** session-flapping: the session is alive this many seconds, then dead as long, and so on (default 3) */
  periodSec?: number;
  /** slow-api: added latency of every answer, ms (default 1500) */
  delayMs?: number;
}

/** What one `reroute loop` run gave. */
export interface PassResult {
  flavour: Flavour;
  startedAt: number;
  endedAt: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A recursive partial of the raw config, merged over the cluster's defaults. */
export type ConfigOverrides = { [K in keyof ConfigInput]?: ConfigInput[K] extends object ? Partial<ConfigInput[K]> : ConfigInput[K] };

export interface ClusterOptions {
  /** unique name prefix ("rr" + 3-14 lowercase letters/digits); random when absent */
  prefix?: string;
  /** flavour of runPass() when none is given */
  flavour?: Flavour;
  /** merged over the default agent config (short test periods) */
  config?: ConfigOverrides;
  /** argv that starts the agent, before its arguments; default: this Node running bin/reroute */
  agent?: string[];
}

/** Where clusters keep their files: one dir per prefix, so `scripts/cluster` can find a cluster again. */
export const CLUSTERS_DIR = join(tmpdir(), 'reroute-clusters');

interface Manifest {
  prefix: string;
  dir: string;
  flavour: Flavour;
  config: ConfigOverrides;
  faults: string[];
  createdAt: number;
  agent?: string[];
}

function randomPrefix(): string {
  return `rrc${randomBytes(4).toString('hex').slice(0, 7)}`;
}

function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null) {
    return over as T;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
  return out as T;
}

function scvmOf(name: string): (typeof PLAN.scvms)[number] {
  const s = PLAN.scvms.find((x) => x.name === name);
  if (!s) throw new Error(`unknown SCVM "${name}": use one of ${SCVM_NAMES.join(', ')}`);
  return s;
}

function checkFault(kind: string): asserts kind is FaultKind {
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`unknown fault "${kind}": use one of ${FAULT_KINDS.join(', ')}`);
  }
}

/** The fake ESXi commands (issue 3) live here; the ESXi flavour puts this directory first on PATH. */
export const ESXI_FAKES_DIR = join(ROOT, 'tests', 'support', 'esxi');

/** A running simulated cluster. Create with `Cluster.up()`, always end with `down()`. */
export class Cluster {
  readonly prefix: string;
  readonly dir: string;
  readonly flavour: Flavour;
  readonly agent: string[];
  private readonly netns: PrefixedNetns | null;
  private readonly overrides: ConfigOverrides;
  private faults: Set<string>;
  /** undone on SIGINT/SIGTERM when this process brought it up; down() forgets that */
  private forget: () => void = () => undefined;

  private constructor(m: Manifest, netns: PrefixedNetns | null) {
    this.prefix = m.prefix;
    this.dir = m.dir;
    this.flavour = m.flavour;
    this.agent = m.agent ?? [process.execPath, join(ROOT, 'bin', 'reroute')];
    this.overrides = m.config;
    this.faults = new Set(m.faults);
    this.netns = netns;
  }

  /** Bring a new cluster up; on any failure, tear down what was made and rethrow. */
  static async up(opts: ClusterOptions = {}): Promise<Cluster> {
    const prefix = opts.prefix ?? randomPrefix();
    checkPrefix(prefix);
    const netns = new PrefixedNetns(prefix);
    const dir = join(CLUSTERS_DIR, prefix);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const m: Manifest = {
      prefix,
      dir,
      flavour: opts.flavour ?? 'linux',
      config: opts.config ?? {},
      faults: [],
      createdAt: Date.now(),
      agent: opts.agent,
    };
    const c = new Cluster(m, netns);
    c.forget = undoOnSignal(() => c.down());
    try {
      c.saveManifest();
      c.buildTopology(netns);
      await c.startScvms(netns);
      for (const f of ['linux', 'esxi'] as const) c.writeConfig(f);
      return c;
    } catch (e) {
      c.down();
      throw e;
    }
  }

  /** Reattach to a cluster brought up by another process (scripts/cluster). */
  static attach(prefix: string): Cluster {
    checkPrefix(prefix);
    const file = join(CLUSTERS_DIR, prefix, 'cluster.json');
    if (!existsSync(file)) throw new Error(`no cluster with prefix ${prefix} (no ${file}): run scripts/cluster up first`);
    return new Cluster(JSON.parse(readFileSync(file, 'utf8')) as Manifest, null);
  }

  /** Prefixes of clusters whose files exist on this machine. */
  static list(): string[] {
    if (!existsSync(CLUSTERS_DIR)) return [];
    return readdirSync(CLUSTERS_DIR).filter((p) => existsSync(join(CLUSTERS_DIR, p, 'cluster.json')));
  }

  /** Remove the cluster: its processes, namespaces (veths and bridges inside them go too) and files. Never throws. */
  down(): void {
    this.forget();
    try {
      removeNamespacesWithPrefix(this.prefix);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Full namespace name: 'host', 'switch', or an SCVM name. */
  ns(node: 'host' | 'switch' | ScvmName): string {
    return `${this.prefix}-${node}`;
  }

  private saveManifest(): void {
    const m: Manifest = {
      prefix: this.prefix,
      dir: this.dir,
      flavour: this.flavour,
      config: this.overrides,
      faults: [...this.faults],
      createdAt: Date.now(),
      agent: this.agent,
    };
    writeFileSync(join(this.dir, 'cluster.json'), JSON.stringify(m, null, 2));
  }

  private buildTopology(n: PrefixedNetns): void {
    const sw = n.add('switch');
    n.exec(sw, ['ip', 'link', 'add', 'brdata', 'type', 'bridge', 'forward_delay', '0']);
    n.exec(sw, ['ip', 'link', 'add', 'brmgmt', 'type', 'bridge', 'forward_delay', '0']);
    n.exec(sw, ['ip', 'link', 'set', 'brdata', 'up']);
    n.exec(sw, ['ip', 'link', 'set', 'brmgmt', 'up']);
    const attach = (node: string, short: string, dataCidr: string, mgmtCidr: string) => {
      const ns = n.add(node);
      n.veth(ns, 'data0', sw, `${short}d`);
      n.veth(ns, 'mgmt0', sw, `${short}m`);
      n.exec(sw, ['ip', 'link', 'set', `${short}d`, 'master', 'brdata']);
      n.exec(sw, ['ip', 'link', 'set', `${short}m`, 'master', 'brmgmt']);
      n.exec(ns, ['ip', 'addr', 'add', dataCidr, 'dev', 'data0']);
      n.exec(ns, ['ip', 'addr', 'add', mgmtCidr, 'dev', 'mgmt0']);
      return ns;
    };
    const host = attach('host', 'h', `${PLAN.host.dataIp}/24`, `${PLAN.host.manageIp}/24`);
    // The host's NFS side (a vmknic on a local-only vSwitch on ESXi). This kernel has no "dummy" link type, so a veth
    // pair with both ends in the host namespace stands in: an up interface that leads nowhere.
    n.exec(host, ['ip', 'link', 'add', 'nfs0', 'type', 'veth', 'peer', 'name', 'nfs0p']);
    n.exec(host, ['ip', 'addr', 'add', PLAN.host.nfsCidr, 'dev', 'nfs0']);
    n.exec(host, ['ip', 'link', 'set', 'nfs0p', 'up']);
    n.exec(host, ['ip', 'link', 'set', 'nfs0', 'up']);
    n.exec(host, ['ip', 'route', 'add', `${PLAN.vip}/32`, 'via', PLAN.scvms[0].dataIp]);
    PLAN.scvms.forEach((s, i) => {
      const ns = attach(s.name, `s${i + 1}`, `${s.dataIp}/24`, `${s.manageIp}/24`);
      n.exec(ns, ['ip', 'addr', 'add', `${PLAN.vip}/32`, 'dev', 'lo']);
    });
    // Base chains for the fault switches, empty (accept) until a fault adds a rule; heal flushes the chain.
    for (const s of PLAN.scvms) {
      const ns = this.ns(s.name as ScvmName);
      const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
        encoding: 'utf8',
        input: [
          'table inet rrfault {',
          '  chain dropicmp { type filter hook input priority 0; policy accept; }',
          '  chain apidown { type filter hook input priority 0; policy accept; }',
          '  chain apisilent { type filter hook output priority 0; policy accept; }',
          '  chain nfsdown { type filter hook input priority 0; policy accept; }',
          '}',
        ].join('\n'),
      });
      if (r.status !== 0) throw new Error(`nftables in ${ns}: ${r.stderr.trim()} (run scripts/install-deps)`);
    }
  }

  private async startScvms(n: PrefixedNetns): Promise<void> {
    const bundle = bundleForChild('tests/support/cluster-scvm.ts');
    const stateFile = join(this.dir, 'emulator-state.json');
    writeFileSync(stateFile, JSON.stringify(initialEmulatorState()));
    const starts = PLAN.scvms.map((s) => {
      const ns = this.ns(s.name as ScvmName);
      const control = this.controlSocket(s.name as ScvmName);
      const child = n.spawnIn(
        ns,
        [
          process.execPath,
          bundle,
          '--name',
          s.name,
          '--nfs-ip',
          PLAN.vip,
          '--nfs-port',
          String(PLAN.nfsPort),
          '--api-ip',
          s.manageIp,
          '--api-port',
          String(PLAN.apiPort),
          '--control',
          control,
          '--state',
          stateFile,
        ],
        {
          detached: true, // outlives `scripts/cluster up`; down() kills it through its namespace
          stdio: ['ignore', 'pipe', 'pipe'],
          env: childEnv(),
        },
      );
      return new Promise<void>((resolve, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => reject(new Error(`${s.name} did not start within 20 s: ${err.trim()}`)), 20_000);
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes(`ready ${s.name}`)) {
            clearTimeout(timer);
            child.stdout!.destroy();
            child.stderr!.destroy();
            child.unref();
            resolve();
          }
        });
        child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`${s.name} exited (${code}) while starting: ${err.trim()}`));
        });
      });
    });
    await Promise.all(starts);
  }

  private controlSocket(scvm: ScvmName): string {
    return join(this.dir, `${scvm}.sock`);
  }

  /** One request to an SCVM's emulator, through its unix control socket. */
  emulator(scvm: ScvmName, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const socketPath = this.controlSocket(scvm);
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.setTimeout(8000, () => req.destroy(new Error(`control of ${scvm} did not answer within 8 s`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /** A request to one emulator that must succeed (2xx); answers the body. */
  async emulatorOk(scvm: ScvmName, method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await this.emulator(scvm, method, path, body);
    if (r.status < 200 || r.status > 299) {
      throw new Error(`${method} ${path} on ${scvm}'s emulator: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  /** The same request to every emulator (they serve one cluster-wide session list); throws on any non-2xx. */
  async emulatorsAll(method: string, path: string, body?: unknown): Promise<void> {
    await Promise.all(SCVM_NAMES.map((s) => this.emulatorOk(s, method, path, body)));
  }

  /** What each emulator received (logins, session lists, refreshes, heartbeats...), by SCVM. */
  async records(): Promise<Record<ScvmName, EmuRecords>> {
    const all = await Promise.all(SCVM_NAMES.map((s) => this.emulatorOk(s, 'GET', '/_emu/records')));
    return Object.fromEntries(SCVM_NAMES.map((s, i) => [s, all[i]])) as Record<ScvmName, EmuRecords>;
  }

  /** Forget every emulator's records. */
  async clearRecords(): Promise<void> {
    await this.emulatorsAll('POST', '/_emu/records/clear');
  }

  /** Path of the agent config of a flavour. */
  configPath(flavour: Flavour = this.flavour): string {
    return join(this.dir, `config-${flavour}.json`);
  }

  /** The agent config this cluster gives the host (raw, before defaults). */
  agentConfig(flavour: Flavour): ConfigInput {
    const base: ConfigInput = {
      platform: flavour === 'esxi' ? 'esxi' : 'linux',
      nfsVip: PLAN.vip,
      nfsHostIp: PLAN.host.nfsCidr.split('/')[0]!,
      hypervisorIp: PLAN.host.manageIp,
      local: { dataIp: PLAN.scvms[0].dataIp, manageIp: PLAN.scvms[0].manageIp },
      scvms: PLAN.scvms.map((s) => ({ dataIp: s.dataIp, manageIp: s.manageIp })),
      api: {
        port: PLAN.apiPort,
        username: PLAN.username,
        password: PLAN.password,
        // Generous against a loaded machine: a local SCVM answering late must not look failed (a second SCVM would
        // be asked, and log in).
        connectTimeoutMs: 1000,
        requestTimeoutMs: 1500,
        budgetMs: 3000,
        hedgeFloorMs: 1500,
        hedgeCeilingMs: 1500,
        switchesRefreshSec: 10,
      },
      // Short probe: 5 echoes 50 ms apart, 2 replies make a target reachable, whole sweep within 800 ms.
      probe: { count: 5, intervalMs: 50, waitMs: 300, timeoutMs: 800, minReplies: 2 },
      decide: { backToNormalSec: 5, maxBackToNormalSec: 40, flapHalfLifeSec: 60 },
      commandTimeoutMs: 2000,
      passDeadlineMs: 8000,
      paths: {
        state: join(this.dir, 'state.json'),
        record: join(this.dir, 'run', 'record.json'),
        lock: join(this.dir, 'run', 'reroute.lock'),
        log: join(this.dir, 'scvm_failure.log'),
        logLink: null,
      },
    };
    return deepMerge(base, this.overrides);
  }

  private writeConfig(flavour: Flavour): void {
    const path = this.configPath(flavour);
    writeFileSync(path, JSON.stringify(this.agentConfig(flavour), null, 2), { mode: 0o600 });
    chmodSync(path, 0o600);
  }

  /** Turn a fault on. Session faults patch every emulator's copy of the cluster-wide session list. */
  async fault(scvm: ScvmName, kind: FaultKind, opts: FaultOptions = {}): Promise<void> {
    const s = scvmOf(scvm);
    checkFault(kind);
    const ns = this.ns(scvm);
    switch (kind) {
      case 'drop-icmp':
        this.nsExec(ns, ['nft', 'add', 'rule', 'inet', 'rrfault', 'dropicmp', 'iifname', '!=', 'lo', 'icmp', 'type', 'echo-request', 'drop']);
        break;
      case 'link-down':
        this.nsExec(ns, ['ip', 'link', 'set', 'data0', 'down']);
        break;
      case 'api-down':
        // A reset, as from a stopped API service; the control socket's own requests come in on lo and still pass.
        this.nsExec(ns, ['nft', 'add', 'rule', 'inet', 'rrfault', 'apidown', 'iifname', '!=', 'lo', 'tcp', 'dport', String(PLAN.apiPort), 'reject', 'with', 'tcp', 'reset']);
        break;
      case 'api-silent':
        // A crashed SCVM: nothing comes back, not even the answer to a request it took before (a slow API's, issue 27)
        this.nsExec(ns, ['nft', 'add', 'rule', 'inet', 'rrfault', 'apisilent', 'oifname', '!=', 'lo', 'tcp', 'sport', String(PLAN.apiPort), 'drop']);
        break;
      case 'nfs-down':
        // Dropped, not refused: a crashed SCVM answers nothing, so NFS clients hang until the route moves.
        this.nsExec(ns, ['nft', 'add', 'rule', 'inet', 'rrfault', 'nfsdown', 'iifname', '!=', 'lo', 'tcp', 'dport', String(PLAN.nfsPort), 'drop']);
        break;
      case 'session-dead':
        await this.emulatorsAll('POST', `/_emu/session/${sessionId(s.name)}`, { alive: false });
        break;
      case 'session-missing':
        await this.emulatorsAll('POST', `/_emu/session/${sessionId(s.name)}`, { missing: true });
        break;
      case 'session-flapping':
        // One start time for every emulator, so all of them tell the same story at the same moment.
        await this.emulatorsAll('POST', `/_emu/session/${sessionId(s.name)}`, {
          flapPeriodSec: opts.periodSec ?? 3,
          flapStart: Date.now(),
        });
        break;
      case 'slow-api':
        await this.emulatorOk(scvm, 'POST', '/_emu/state', { faults: { all: { latencyMs: opts.delayMs ?? 1500 } } });
        break;
    }
    this.faults.add(`${scvm}:${kind}`);
    this.saveManifest();
  }

  /** Turn a fault off again. */
  async heal(scvm: ScvmName, kind: FaultKind): Promise<void> {
    const s = scvmOf(scvm);
    checkFault(kind);
    const ns = this.ns(scvm);
    switch (kind) {
      case 'drop-icmp':
        this.nsExec(ns, ['nft', 'flush', 'chain', 'inet', 'rrfault', 'dropicmp']);
        break;
      case 'link-down':
        this.nsExec(ns, ['ip', 'link', 'set', 'data0', 'up']);
        break;
      case 'api-down':
        this.nsExec(ns, ['nft', 'flush', 'chain', 'inet', 'rrfault', 'apidown']);
        break;
      case 'api-silent':
        this.nsExec(ns, ['nft', 'flush', 'chain', 'inet', 'rrfault', 'apisilent']);
        break;
      case 'nfs-down':
        this.nsExec(ns, ['nft', 'flush', 'chain', 'inet', 'rrfault', 'nfsdown']);
        break;
      case 'session-dead':
        await this.emulatorsAll('POST', `/_emu/session/${sessionId(s.name)}`, { alive: true });
        break;
      case 'session-flapping':
        await this.emulatorsAll('POST', `/_emu/session/${sessionId(s.name)}`, { flapPeriodSec: null, flapStart: null });
        break;
      case 'session-missing':
        await this.emulatorsAll('POST', `/_emu/session/${sessionId(s.name)}`, { missing: null });
        break;
      case 'slow-api':
        await this.emulatorOk(scvm, 'POST', '/_emu/state', { faults: { all: null } });
        break;
    }
    this.faults.delete(`${scvm}:${kind}`);
    this.saveManifest();
  }

  /** Faults now on, as "scvm-1:drop-icmp". */
  activeFaults(): string[] {
    return [...this.faults];
  }

  private nsExec(ns: string, argv: string[]): string {
    if (!ns.startsWith(`${this.prefix}-`)) throw new Error(`namespace ${ns} is not part of cluster ${this.prefix}`);
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`in ${ns}: ${argv.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  /**
   * Which SCVM answers a new TCP connection to the NFS VIP, asked from the HOST namespace (where the VMs' I/O starts);
   * null when nobody answers within `timeoutMs`.
   */
  whoServesNfs(timeoutMs = 1000): Promise<string | null> {
    const sec = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', this.ns('host'), 'busybox', 'nc', '-w', sec, PLAN.vip, String(PLAN.nfsPort)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 500);
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', () => {
        clearTimeout(timer);
        const name = out.trim();
        resolve(/^scvm-\d$/.test(name) ? name : null);
      });
    });
  }

  /** Next hops of the host's VIP /32 route, read from the host namespace's kernel table. */
  hostRoute(): string[] {
    const out = this.nsExec(this.ns('host'), ['ip', '-j', 'route', 'show', `${PLAN.vip}/32`]);
    const routes = JSON.parse(out || '[]') as { gateway?: string; dev?: string; nexthops?: { gateway?: string }[] }[];
    return routes.flatMap((r) =>
      r.nexthops ? r.nexthops.map((h) => h.gateway ?? '?') : [r.gateway ?? `dev:${r.dev ?? '?'}`],
    );
  }

  /** The agent's state file, parsed; null when there is none yet. */
  readState(): Record<string, unknown> | null {
    return this.readJson(this.agentPath('state'));
  }

  /** The agent's record of recent passes (journal, last lists), parsed; null when there is none yet. */
  readRecord(): Record<string, unknown> | null {
    return this.readJson(this.agentPath('record'));
  }

  private readJson(p: string): Record<string, unknown> | null {
    if (!existsSync(p)) return null;
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  }

  /** Path of a file of the agent (state, record, lock, log) in this cluster's dir. */
  agentPath(which: 'state' | 'record' | 'lock' | 'log'): string {
    const rel = { state: 'state.json', record: 'run/record.json', lock: 'run/reroute.lock', log: 'scvm_failure.log' }[which];
    return join(this.dir, rel);
  }

  /** The agent's log so far ('' when none). */
  readLog(): string {
    const p = this.agentPath('log');
    return existsSync(p) && statSync(p).isFile() ? readFileSync(p, 'utf8') : '';
  }

  /** Environment as cron gives it, plus the ESXi fakes for that flavour. */
  cronEnv(flavour: Flavour): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LOGNAME: 'root',
      SHELL: '/bin/sh',
      LANG: 'C',
    };
    if (flavour === 'esxi') {
      // The fakes are Node scripts (`#!/usr/bin/env node`): they run on this Node too, not the system one.
      env.PATH = `${ESXI_FAKES_DIR}:${dirname(process.execPath)}:${env.PATH}`;
      // The fakes keep ESXi's table in this file (created with the lab plan's routes on first use) and, with
      // FAKE_ESXI_KERNEL=1, apply every change to the host namespace's real table as well.
      env.FAKE_ESXI_STATE = join(this.dir, 'esxi-host.json');
      env.FAKE_ESXI_KERNEL = '1';
    }
    return env;
  }

  /**
   * One `reroute loop` pass in the host namespace, as cron would run it. `killAfterMs` sends SIGKILL mid-pass, and
   * `killWhen` as soon as it returns true (polled every 2 ms; crash tests); `args` replaces `loop` (e.g. ['status']).
   */
  runPass(
    flavour: Flavour = this.flavour,
    opts: { killAfterMs?: number; killWhen?: () => boolean; args?: string[] } = {},
  ): Promise<PassResult> {
    const startedAt = Date.now();
    const args = opts.args ?? ['loop'];
    return new Promise((resolve) => {
      const child = spawn(
        'ip',
        ['netns', 'exec', this.ns('host'), ...this.agent, ...args, '--config', this.configPath(flavour)],
        { cwd: '/', env: this.cronEnv(flavour), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const hard = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const kill = opts.killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
      const killWhen = opts.killWhen;
      const watch = killWhen ? setInterval(() => killWhen() && child.kill('SIGKILL'), 2) : null;
      child.on('close', (code, signal) => {
        clearTimeout(hard);
        if (kill) clearTimeout(kill);
        if (watch) clearInterval(watch);
        resolve({ flavour, startedAt, endedAt: Date.now(), code, signal, stdout, stderr });
      });
    });
  }

  /** Start a pass every `everyMs` like cron (a pass is started even while the last one runs). */
  startCron(everyMs = 1000, flavour: Flavour = this.flavour): Cron {
    return new Cron(this, everyMs, flavour);
  }

  /**
   * The long-lived mode in the host namespace, as the installed cron line starts it: `loop --every <everySec>` for
   * `forSec` (default: to the next minute boundary), with cron's environment.
   */
  startRunner(opts: { everySec?: number; forSec?: number; flavour?: Flavour } = {}): Runner {
    const flavour = opts.flavour ?? this.flavour;
    const args = ['loop', '--every', String(opts.everySec ?? 1), ...(opts.forSec === undefined ? [] : ['--for', String(opts.forSec)])];
    const child = spawn('ip', ['netns', 'exec', this.ns('host'), ...this.agent, ...args, '--config', this.configPath(flavour)], {
      cwd: '/',
      env: this.cronEnv(flavour),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.resume();
    const exit = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stderr })),
    );
    return { child, exit, startedAt: Date.now() };
  }
}

/** A long-lived runner started by startRunner. */
export interface Runner {
  child: ReturnType<typeof spawn>;
  exit: Promise<{ code: number | null; signal: string | null; stderr: string }>;
  startedAt: number;
}

/** Passes started on a fixed cadence until stop(). */
export class Cron {
  readonly passes: PassResult[] = [];
  private readonly running = new Set<Promise<PassResult>>();
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: ((p: PassResult) => void)[] = [];

  constructor(
    private readonly cluster: Cluster,
    everyMs: number,
    private readonly flavour: Flavour,
  ) {
    this.tick();
    this.timer = setInterval(() => this.tick(), everyMs);
  }

  private tick(): void {
    const p = this.cluster.runPass(this.flavour);
    this.running.add(p);
    void p.then((r) => {
      this.running.delete(p);
      this.passes.push(r);
      for (const l of this.listeners) l(r);
    });
  }

  /** Called after each pass ends. */
  onPass(fn: (p: PassResult) => void): void {
    this.listeners.push(fn);
  }

  /** Stop starting passes; resolves when the running ones end, with every pass, in the order they ended. */
  async stop(): Promise<PassResult[]> {
    clearInterval(this.timer);
    await Promise.all([...this.running]);
    return this.passes;
  }
}

/** Session id of an SCVM in the emulators' cluster-wide list (plain, no path characters). */
export function sessionId(scvm: string): string {
  const n = scvm.replace(/\D/g, '');
  return `5e551000-0000-4000-8000-00000000000${n}`;
}

/** The cluster-wide session list every emulator starts with: one alive session per SCVM. */
export function clusterSessions(): {
  uuid: string;
  ip: string;
  secondary_data_ip: string;
  zone: string;
  alive: boolean;
}[] {
  return PLAN.scvms.map((s) => ({
    uuid: sessionId(s.name),
    ip: s.dataIp,
    secondary_data_ip: s.manageIp,
    zone: 'default',
    alive: true,
  }));
}

/** What every emulator starts with: the lab credentials and the cluster-wide session list. */
function initialEmulatorState(): Record<string, unknown> {
  return { username: PLAN.username, password: PLAN.password, sessions: clusterSessions() };
}

/** Build dist/ when it is missing or older than lib/ (serialised across test workers by a lock dir). */
export function ensureBuilt(): void {
  const outputs = ['reroute.js', 'main.js'].map((f) => join(ROOT, 'dist', f));
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  const lockDir = join(tmpdir(), 'reroute-build.lock');
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      // a lock dir older than a minute belongs to a dead worker
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 60_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      if (Date.now() > until) throw new Error(`another worker holds ${lockDir} for over a minute: remove it`);
      spawnSync('sleep', ['0.1']);
    }
  }
  try {
    const lib = newest(join(ROOT, 'lib'));
    if (outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= lib)) return;
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node scripts/build.mjs failed: ${r.stderr.trim()}`);
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
