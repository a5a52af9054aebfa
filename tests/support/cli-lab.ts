// A host for the real CLI without namespaces: the fake ESXi commands (route table in a file) and ZBS emulators on
// loopback, one per SCVM. Every address is loopback: data IPs 127.0.0.15-17 (ping answers), manage IPs .25-.27.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fakeEsxiHost, type FakeEsxiHost } from './esxi';
import { rawConfig, writeConfig } from './config';
import { refuseOutsideLoopback } from './netns';
import { startZbsEmulator, type ZbsEmulator } from './zbs-emulator';

const BIN = join(__dirname, '..', '..', 'bin', 'reroute');
export const VIP = '192.168.33.2';
export const DATA = ['127.0.0.15', '127.0.0.16', '127.0.0.17'] as const;
export const MANAGE = ['127.0.0.25', '127.0.0.26', '127.0.0.27'] as const;

export interface CliLab {
  host: FakeEsxiHost;
  emus: ZbsEmulator[];
  dir: string;
  config: string;
  /** the route's next hops in the fake host's table */
  vipVia(): (string | null)[];
  /** the state file as JSON */
  state(): Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  log(): string;
  /** run the CLI to its end (never spawnSync: the emulators answer from this process's event loop) */
  run(args: string[], opts?: { prefix?: string[]; env?: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }>;
  /** start the CLI and return at once */
  start(args: string[]): { child: ReturnType<typeof spawn>; exit: Promise<{ code: number | null; signal: string | null }> };
  /** remove every emulator fault (patch() merges, so it cannot take one away) */
  clearFaults(): void;
  close(): Promise<void>;
}

/** Emulators for the three SCVMs and a fake ESXi host whose VIP route goes via `routeVia` (the local SCVM). */
export async function cliLab(
  opts: { config?: Record<string, unknown>; api?: Record<string, unknown>; routeVia?: string } = {},
): Promise<CliLab> {
  const sessions = DATA.map((ip, i) => ({ uuid: `sess-${i + 15}`, ip, secondary_data_ip: MANAGE[i], zone: 'default', alive: true }));
  const emus: ZbsEmulator[] = [];
  for (const m of MANAGE) {
    refuseOutsideLoopback(m);
    emus.push(await startZbsEmulator({ host: m, port: emus[0]?.port ?? 0, state: { sessions } }));
  }
  const host = fakeEsxiHost();
  host.writeState({
    routes: [
      { network: VIP, netmask: '255.255.255.255', gateway: opts.routeVia ?? DATA[0], iface: 'vmk1' },
      { network: '127.0.0.0', netmask: '255.0.0.0', gateway: null, iface: 'vmk1' },
    ],
  });
  const { dir, path } = writeConfig((d) => ({
    ...rawConfig(d),
    platform: 'esxi',
    hypervisorIp: '127.0.0.11',
    local: { dataIp: DATA[0], manageIp: MANAGE[0] },
    scvms: DATA.slice(1).map((dataIp, i) => ({ dataIp, manageIp: MANAGE[i + 1] })),
    api: {
      port: emus[0]!.port,
      username: 'admin',
      password: 'secret',
      requestTimeoutMs: 5000,
      budgetMs: 8000,
      hedgeFloorMs: 3000,
      hedgeCeilingMs: 3000,
      ...opts.api,
    },
    probe: { count: 3, minReplies: 2, intervalMs: 20, waitMs: 500, timeoutMs: 1500 },
    commandTimeoutMs: 5000,
    passDeadlineMs: 20_000,
    // the VIP's route lives only in the fake ESXi table: a connect to the VIP would leave this machine by its default
    // route, so the NFS data-path check stays off here (the namespace cluster checks it)
    nfsCheck: { enabled: false },
    ...opts.config,
  }));
  const written = JSON.parse(readFileSync(path, 'utf8')) as { nfsCheck?: { enabled?: boolean } };
  if (written.nfsCheck?.enabled !== false) throw new Error(`cliLab: the NFS check would connect to ${VIP} from the root namespace; refused`);
  const spawnCli = (args: string[], prefix: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const argv = [...prefix, process.execPath, BIN, '--config', path, ...args];
    return spawn(argv[0]!, argv.slice(1), { env: { ...host.env, ...env } });
  };
  return {
    host,
    emus,
    dir,
    config: path,
    vipVia: () => host.readState().routes.filter((r) => r.network === VIP).map((r) => r.gateway),
    state: () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')),
    log: () => readFileSync(join(dir, 'log', 'scvm_failure.log'), 'utf8'),
    run(args, o = {}) {
      const child = spawnCli(args, o.prefix, o.env);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
    },
    start(args) {
      const child = spawnCli(args);
      const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
      return { child, exit };
    },
    clearFaults() {
      for (const e of emus) e.state.faults = {};
    },
    async close() {
      await Promise.all(emus.map((e) => e.close()));
      host.cleanup();
    },
  };
}

/** Poll until `check` holds, or fail naming `what`. */
export async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `lab(...)` for a test file: each lab made is closed after its test. */
export function useCliLabs(): (...args: Parameters<typeof cliLab>) => Promise<CliLab> {
  let labs: CliLab[] = [];
  afterEach(async () => {
    await Promise.all(labs.map((l) => l.close()));
    labs = [];
  });
  return async (...args) => {
    const l = await cliLab(...args);
    labs.push(l);
    return l;
  };
}
