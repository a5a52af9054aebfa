// A temp dir holding a fake ESXi host: the fake commands on a PATH of its own, and their state file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../../scripts/pack/common';

export type FakeEsxiTool = 'esxcfg-route' | 'esxcli' | 'esxcfg-vmknic';

export interface FakeRoute {
  network: string;
  netmask: string;
  gateway: string | null;
  iface: string | null;
  source?: string;
}

/** A datastore as `esxcli storage nfs list` prints it. */
export interface FakeNfsDatastore {
  volumeName: string;
  host: string;
  share: string;
  accessible: boolean;
  mounted: boolean;
  readOnly: boolean;
  isPE: boolean;
  hardwareAcceleration: string;
}

/** A volume as `esxcli storage filesystem list` prints it. */
export interface FakeFilesystem {
  mountPoint: string;
  volumeName: string;
  uuid: string;
  mounted: boolean;
  type: string;
  size: number;
  free: number;
}

/** The fake host's table and its failure switches (see fake-esxi.js). */
export interface FakeEsxiState {
  format: 'modern' | 'old';
  vmknicFormat: 'modern' | 'old';
  routes: FakeRoute[];
  vmknics: Record<string, unknown>[];
  nfs: FakeNfsDatastore[];
  filesystems: FakeFilesystem[];
  fail: Record<string, number | boolean>;
  hang: string[];
  hangAfter?: Record<string, number>;
  hangDone?: Record<string, number>;
  output: Record<string, string>;
}

export interface FakeCall {
  tool: FakeEsxiTool;
  argv: string[];
  time: string;
}

/** The directory of the fake executables, for tests that run them directly (from the root: scripts bundle this file). */
export const FAKE_ESXI_DIR = join(ROOT, 'tests', 'support', 'esxi');

 
const fake = require(join(FAKE_ESXI_DIR, 'fake-esxi.js')) as { defaultState(): FakeEsxiState };

/** The lab-plan table the fakes create when their state file is missing. */
export function defaultFakeState(): FakeEsxiState {
  return fake.defaultState();
}

export interface FakeEsxiHost {
  dir: string;
  statePath: string;
  /** env for the commands: PATH with only `tools` of the fakes in front, FAKE_ESXI_STATE set */
  env: NodeJS.ProcessEnv;
  readState(): FakeEsxiState;
  writeState(patch: Partial<FakeEsxiState>): void;
  /** every invocation so far */
  calls(): FakeCall[];
  /** invocations that change a route (esxcfg-route -a/-d, esxcli add/remove) */
  changingCalls(): FakeCall[];
  /** pids of this host's fake commands still running (a hung one whose agent was killed, say) */
  leftovers(): number[];
  /** kill the leftovers' process groups (a hung fake's `sleep` child too), then remove the directory */
  cleanup(): void;
}

/** Pids whose command line names `dir` (a directory of our own making: nothing else can name it). */
function runningFrom(dir: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`${dir}/`)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const groupOf = (pid: number | 'self') => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);

/** Kill `pid` and its process group (the agent starts each command in a group of its own), never the test's group. */
function killGroupOf(pid: number): void {
  try {
    const pgid = groupOf(pid);
    process.kill(pgid === groupOf('self') ? pid : -pgid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/** Make a fake ESXi host; `tools` picks which fakes are on its PATH (all three by default). */
export function fakeEsxiHost(
  opts: { tools?: FakeEsxiTool[]; state?: Partial<FakeEsxiState> } = {},
): FakeEsxiHost {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-fake-esxi-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of opts.tools ?? ['esxcfg-route', 'esxcli', 'esxcfg-vmknic']) {
    symlinkSync(join(FAKE_ESXI_DIR, tool), join(bin, tool));
  }
  const statePath = join(dir, 'state.json');
  const host: FakeEsxiHost = {
    dir,
    statePath,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, FAKE_ESXI_STATE: statePath },
    readState: () => JSON.parse(readFileSync(statePath, 'utf8')) as FakeEsxiState,
    writeState: (patch) => {
      const current = existsSync(statePath) ? host.readState() : defaultFakeState();
      writeFileSync(statePath, JSON.stringify({ ...current, ...patch }, null, 2));
    },
    calls: () =>
      existsSync(`${statePath}.calls`)
        ? readFileSync(`${statePath}.calls`, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as FakeCall)
        : [],
    changingCalls: () =>
      host
        .calls()
        .filter(
          (c) =>
            (c.tool === 'esxcfg-route' && ['-a', '-d', '--add', '--del'].includes(c.argv[0] ?? '')) ||
            (c.tool === 'esxcli' && ['add', 'remove'].includes(c.argv[4] ?? '')),
        ),
    leftovers: () => runningFrom(dir),
    cleanup: () => {
      for (const pid of runningFrom(dir)) killGroupOf(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  host.writeState(opts.state ?? {});
  return host;
}
