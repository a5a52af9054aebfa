// The host's NFS mounts, and which of them the NFS VIP serves (issue 15 case 7: the agent's own files must never live
// there). Read from the mount table only, never from a path on a mount: /proc/mounts on Linux and Xen dom0,
// `esxcli storage nfs list` (datastore -> server) and `esxcli storage filesystem list` (datastore -> mount point, so
// /vmfs/volumes/<uuid> is known too) on ESXi. ../shared/reference has no sample of the storage listings; their shape
// is taken from ESXi 5.5-8.0 outputs in public write-ups (see tests/support/esxi/fake-esxi.js).
import { readFileSync } from 'node:fs';
import { findTool } from '../routes';
import { commandRunner, readCommand } from '../routes/commands';
import type { ParseResult } from '../routes/esxi-parse';
import type { Platform } from '../config/platform';
import type { CommandRunner } from '../routes/types';
import { silentLog } from '../runtime/log';
import { underRoot } from '../install/targets';

/** One NFS mount of the host. */
export interface NfsMount {
  /** where the host sees it: /vmfs/volumes/<name> and /vmfs/volumes/<uuid> on ESXi, the mount point on Linux */
  mountPoint: string;
  /** the server as the mount table names it ('' when the table does not say) */
  server: string;
  /** served through the NFS VIP: the agent's files must not be here */
  viaVip: boolean;
  /** for people: "datastore zbs (192.168.33.2:/zbs/nfs)", "NFS mount /mnt/x (192.168.33.2:/export)" */
  label: string;
}

/** The NFS mounts, or why they cannot be known. */
export type MountTable = { ok: true; mounts: NfsMount[]; source: string } | { ok: false; reason: string };

export interface MountTableOptions {
  platform: Platform;
  vip: string;
  /** an image of a host (install --root): its /proc/mounts file stands for the mount table; esxcli is the host's */
  root: string | null;
  /** hard timeout of each esxcli command, ms */
  timeoutMs: number;
  /** PATH of the esxcli commands; default process.env */
  env?: NodeJS.ProcessEnv;
}

const LINUX_NFS_TYPES = new Set(['nfs', 'nfs4']);

// /proc/mounts writes space, tab, newline and backslash in paths as \040, \011, \012 and \134.
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The server of an NFS source "server:/export" (IPv6 servers in brackets), or '' when it names none. */
function nfsServer(source: string): string {
  const m = /^\[([^\]]+)\]:/.exec(source) ?? /^([^:/]+):/.exec(source);
  return m?.[1] ?? '';
}

/** NFS mounts in /proc/mounts text. A mount counts as the VIP's when its source or its addr= option names the VIP. */
export function parseProcMounts(text: string, vip: string): NfsMount[] {
  const mounts: NfsMount[] = [];
  for (const line of text.split('\n')) {
    const [source, point, type, options] = line.split(' ');
    if (source === undefined || point === undefined || options === undefined || !LINUX_NFS_TYPES.has(type ?? '')) continue;
    const dev = unescapeMountField(source);
    const addr = /(?:^|,)addr=([^,]+)/.exec(options)?.[1];
    const server = nfsServer(dev);
    mounts.push({
      mountPoint: unescapeMountField(point),
      server,
      viaVip: server === vip || addr === vip,
      label: `NFS mount ${unescapeMountField(point)} (${dev})`,
    });
  }
  return mounts;
}

/**
 * An esxcli table: a header, a line of dashes per column, then rows; as one record per row keyed by header. Cells are
 * cut at the columns the dashes mark, not split on spaces: datastore names and shares may hold spaces, and esxcli
 * pads every column to its widest cell (text left-aligned, booleans and numbers right-aligned). No output at all is a
 * table without rows.
 */
export function parseEsxcliTable(text: string, command: string, required: string[]): ParseResult<Record<string, string>[]> {
  const all = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (all.length === 0) return { ok: true, value: [] };
  const [header, dashes] = all;
  if (dashes === undefined || !/^\s*-+(\s+-+)*\s*$/.test(dashes)) {
    return { ok: false, reason: `${command}: expected a header and a line of dashes: "${(dashes ?? header ?? '').trim()}"` };
  }
  const starts = [...dashes.matchAll(/-+/g)].map((m) => m.index);
  const cut = (line: string) => starts.map((s, i) => line.slice(s, starts[i + 1]).trim());
  const names = cut(header!);
  const missing = required.filter((r) => !names.includes(r));
  if (missing.length > 0) return { ok: false, reason: `${command}: no ${missing.join(', ')} column in "${header!.trim()}"` };
  return { ok: true, value: all.slice(2).map((line) => Object.fromEntries(cut(line).map((cell, i) => [names[i]!, cell]))) };
}

/**
 * NFS datastores from the two listings: each under /vmfs/volumes/<name> and under its mount point
 * (/vmfs/volumes/<uuid>). A datastore the filesystem listing types as NFS but the NFS (v3) listing does not name
 * (NFS 4.1) has no known server and is never taken as the VIP's.
 */
export function esxiNfsMounts(nfs: Record<string, string>[], filesystems: Record<string, string>[], vip: string): NfsMount[] {
  const byName = new Map<string, { server: string; label: string }>();
  const mounts: NfsMount[] = [];
  for (const r of nfs) {
    const name = r['Volume Name'] ?? '';
    if (name === '' || name.includes('/')) continue;
    const server = r.Host ?? '';
    const d = { server, label: `datastore ${name} (${server}:${r.Share ?? '?'})` };
    byName.set(name, d);
    mounts.push({ mountPoint: `/vmfs/volumes/${name}`, server, viaVip: server === vip, label: d.label });
  }
  for (const f of filesystems) {
    const point = f['Mount Point'] ?? '';
    if (!/^NFS/i.test(f.Type ?? '') || !point.startsWith('/')) continue;
    const name = f['Volume Name'] ?? '';
    const d = byName.get(name) ?? { server: '', label: `datastore ${name || point} (${f.Type})` };
    mounts.push({ mountPoint: point, server: d.server, viaVip: d.server === vip, label: d.label });
  }
  return mounts;
}

async function esxcliTable(runner: CommandRunner, esxcli: string, args: string[], required: string[]): Promise<ParseResult<Record<string, string>[]>> {
  try {
    const r = await readCommand(runner, [esxcli, ...args]);
    return parseEsxcliTable(r.stdout, `esxcli ${args.join(' ')}`, required);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** The host's NFS mounts (ESXi: both listings at once, each within timeoutMs). Failure is data, never a throw. */
export async function readMountTable(o: MountTableOptions): Promise<MountTable> {
  if (o.platform !== 'esxi') {
    const file = underRoot(o.root, '/proc/mounts');
    try {
      return { ok: true, mounts: parseProcMounts(readFileSync(file, 'utf8'), o.vip), source: file };
    } catch (e) {
      return { ok: false, reason: `cannot read the mount table ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
  }
  const esxcli = findTool('esxcli', (o.env ?? process.env).PATH);
  if (esxcli === null) return { ok: false, reason: 'esxcli not found (PATH, /sbin, /bin, /usr/sbin, /usr/bin)' };
  const runner = commandRunner(silentLog, o.timeoutMs, o.env ?? process.env);
  const [nfs, fs] = await Promise.all([
    esxcliTable(runner, esxcli, ['storage', 'nfs', 'list'], ['Volume Name', 'Host']),
    esxcliTable(runner, esxcli, ['storage', 'filesystem', 'list'], ['Mount Point', 'Volume Name', 'Type']),
  ]);
  if (!nfs.ok) return nfs;
  if (!fs.ok) return fs;
  return { ok: true, mounts: esxiNfsMounts(nfs.value, fs.value, o.vip), source: 'esxcli storage nfs list, esxcli storage filesystem list' };
}
