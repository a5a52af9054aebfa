// Issue 15 case 7: the agent's files on the NFS datastore served through the VIP. The agent, its config, state,
// record, lock or log there make it hang exactly when it is needed: the VIP's server is what failed. The one detection,
// used by `install` (refuses), `doctor` (fails) and `loop` (warns, once an hour): a host check, beside doctor's others
// (issue 32: `loop` imported install/ for it).
//
// The check never touches a path on an NFS mount: a dead server would hang it too. It follows symlinks one component at
// a time (/scratch is a symlink to /vmfs/volumes/<uuid>/.locker on ESXi) and stops at the first prefix that the mount
// table says is on NFS; whatever follows is taken as written.
import { lstatSync, readlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../config/schema';
import type { Platform } from '../config/platform';
import type { Log } from '../runtime/log';
import { HOUR_MS, saidWithin } from '../runtime/said';
import { readMountTable, type MountTable, type MountTableOptions, type NfsMount } from './nfs-mounts';
import { underRoot } from '../install/targets';

/** A file (or directory) of the agent, named as the host sees it. */
export interface AgentFile {
  /** what it is, as the config or the command line names it: "paths.state", "--node" */
  what: string;
  path: string;
}

/** An agent file that lives on an NFS mount served through the VIP. */
export interface FileOnNfs extends AgentFile {
  /** the path with its symlinks followed as far as they could be without touching NFS */
  resolved: string;
  mount: NfsMount;
}

/** The verdict: which files are on the VIP's NFS, or why that cannot be told. */
export type NfsVerdict = { ok: true; onVip: FileOnNfs[]; checked: number; source: string } | { ok: false; reason: string };

// A symlink chain longer than this is a loop (Linux gives up at 40 as well).
const MAX_LINKS = 40;

/** The NFS mount holding host path `path` (the innermost one), or null. */
export function mountOf(path: string, mounts: NfsMount[]): NfsMount | null {
  let best: NfsMount | null = null;
  for (const m of mounts) {
    const p = m.mountPoint.replace(/\/+$/, '');
    if ((p === '' || path === p || path.startsWith(p + '/')) && (best === null || p.length > best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * Where `path` really lives: symlinks followed one component at a time, never looking at a component that lies on
 * an NFS mount (of any server). A component that does not exist ends the walk: the rest is what would be created.
 * `root` (install --root) holds the files; links are read as the booted host would read them.
 */
export function resolveOffNfs(path: string, mounts: NfsMount[], root: string | null = null): { resolved: string; mount: NfsMount | null } {
  let done = '/';
  let rest = resolve('/', path).split('/').filter(Boolean);
  let links = 0;
  const stop = (at: string) => {
    const resolved = rest.length === 0 ? at : join(at, ...rest);
    return { resolved, mount: mountOf(resolved, mounts) };
  };
  while (rest.length > 0) {
    const next = join(done, rest[0]!);
    if (mountOf(next, mounts) !== null) return stop(done);
    let link: string | null = null;
    try {
      if (lstatSync(underRoot(root, next)).isSymbolicLink()) link = readlinkSync(underRoot(root, next));
    } catch {
      return stop(done);
    }
    rest = rest.slice(1);
    if (link === null) {
      done = next;
      continue;
    }
    if (++links > MAX_LINKS) return stop(next);
    rest = [...link.split('/').filter(Boolean), ...rest];
    if (isAbsolute(link)) done = '/';
    // ".." after a symlink goes up from the link's target, as the kernel does
    while (rest[0] === '..' || rest[0] === '.') {
      if (rest.shift() === '..') done = dirname(done);
    }
  }
  return { resolved: done, mount: mountOf(done, mounts) };
}

/** Which of `files` lie on a mount of `table` served through the VIP. Never touches a path on NFS. */
export function onVipNfs(files: AgentFile[], table: MountTable, root: string | null): NfsVerdict {
  if (!table.ok) return table;
  const onVip: FileOnNfs[] = [];
  for (const f of files) {
    const { resolved, mount } = resolveOffNfs(resolve(f.path), table.mounts, root);
    if (mount?.viaVip) onVip.push({ ...f, resolved, mount });
  }
  return { ok: true, onVip, checked: files.length, source: table.source };
}

/** Which of `files` lie on an NFS mount served through the VIP, from the host's mount table. Never throws. */
export async function filesOnVipNfs(files: AgentFile[], o: MountTableOptions): Promise<NfsVerdict> {
  return onVipNfs(files, await readMountTable(o), o.root);
}

/** One file on the VIP's NFS as a phrase: "paths.state /x is on datastore zbs (192.168.33.2:/zbs)". */
export function describeOnNfs(f: FileOnNfs): string {
  const via = f.resolved !== f.path && !f.resolved.startsWith(f.path + '/') ? ` (${f.resolved})` : '';
  return `${f.what} ${f.path}${via} is on ${f.mount.label}`;
}

/** The agent program as this process runs it: the bundle directory, else node and the entry script. */
function agentProgram(): AgentFile[] {
  const bundle = process.env.REROUTE_BUNDLE;
  if (bundle) return [{ what: 'the agent bundle', path: bundle }];
  const entry = process.argv[1];
  return [{ what: 'node', path: process.execPath }, ...(entry && isAbsolute(entry) ? [{ what: 'the agent entry', path: entry }] : [])];
}

/** The files a config names: credentials, state, record, lock, log. */
export function configFiles(config: Pick<Config, 'paths' | 'api'>): AgentFile[] {
  const p = config.paths;
  return [
    ...(config.api.credentialsFile ? [{ what: 'api.credentialsFile', path: config.api.credentialsFile }] : []),
    { what: 'paths.state', path: p.state },
    { what: 'paths.record', path: p.record },
    { what: 'paths.lock', path: p.lock },
    { what: 'paths.log', path: p.log },
  ];
}

/** Every file the running agent uses: program, config, and the files it names. */
export function agentFiles(config: Pick<Config, 'paths' | 'api'>, configPath: string): AgentFile[] {
  return [...agentProgram(), { what: 'the config', path: configPath }, ...configFiles(config)];
}

/**
 * The pass's check, at most once an hour (the ESXi listings start a process each): a loud log line when the agent's
 * files are on the VIP's NFS, a warning when that cannot be told. Bounded by config.commandTimeoutMs; never throws.
 */
export async function warnAgentFilesOnNfs(config: Config, configPath: string, platform: Platform, log: Log): Promise<void> {
  if (await saidWithin(dirname(config.paths.record), 'check: agent files on the NFS datastore', HOUR_MS)) return;
  const v = await filesOnVipNfs(agentFiles(config, configPath), {
    platform,
    vip: config.nfsVip,
    root: null,
    timeoutMs: config.commandTimeoutMs,
  });
  if (!v.ok) log.warn(`could not check whether the agent's files are on the NFS datastore: ${v.reason}`);
  else if (v.onVip.length > 0) {
    log.error(
      `the agent's files are on the NFS datastore served through ${config.nfsVip}: ${v.onVip.map(describeOnNfs).join('; ')}. ` +
        `The agent hangs exactly when that datastore fails: move them to local storage (docs/install.md); said once an hour`,
    );
  }
}
