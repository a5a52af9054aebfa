// The command line behind scripts/cluster (and scripts/demo, scripts/bench-failover): bring a simulated cluster up,
// poke it, tear it down. A run that fails or is interrupted while bringing a cluster up removes what it made.
import { Cluster, FAULT_KINDS, SCVM_NAMES, type FaultKind, type Flavour, type ScvmName } from './cluster';
import { netnsUnavailableReason } from './netns';
import { removeNamespacesWithPrefix, namespacesWithPrefix, checkPrefix } from './netns-prefix';

const USAGE = `usage: scripts/cluster <command> [options]
  up [--prefix P] [--flavour linux|esxi]   bring a cluster up and leave it running; prints its prefix
  down --prefix P                          remove everything of cluster P (processes, namespaces, files)
  fault <scvm> <kind> [--prefix P] [--period-sec N] [--delay-ms N]
  heal <scvm> <kind> [--prefix P]          turn a fault off
  status [--prefix P]                      route, who answers NFS, faults on
  pass [--prefix P] [--flavour linux|esxi] one real \`reroute loop\` pass in the host namespace
  list                                     clusters on this machine
scvm: ${SCVM_NAMES.join(' | ')}
kind: ${FAULT_KINDS.join(' | ')}
--prefix may be left out when exactly one cluster exists.`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function numberFlag(args: string[], name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} wants a non-negative number, got "${v}"`);
  return n;
}

function flavourFlag(args: string[]): Flavour | undefined {
  const v = flag(args, '--flavour');
  if (v !== undefined && v !== 'linux' && v !== 'esxi') throw new Error(`--flavour is linux or esxi, got "${v}"`);
  return v;
}

function pickPrefix(given: string | undefined): string {
  if (given) return given;
  const all = Cluster.list();
  if (all.length === 1) return all[0]!;
  throw new Error(
    all.length === 0 ? 'no cluster is up: run scripts/cluster up' : `several clusters are up (${all.join(', ')}): pass --prefix`,
  );
}

async function up(args: string[]): Promise<void> {
  const prefix = flag(args, '--prefix');
  const flavour = flavourFlag(args);
  if (prefix) checkPrefix(prefix);
  let made: string | undefined = prefix;
  // An interrupted `up` leaves nothing behind.
  const onSignal = () => {
    if (made) removeNamespacesWithPrefix(made);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const c = await Cluster.up({ prefix, flavour });
  made = undefined;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.stdout.write(
    [
      `cluster ${c.prefix} is up (${c.flavour}); files in ${c.dir}`,
      `  namespaces: ${namespacesWithPrefix(c.prefix).join(' ')}`,
      `  host route: 192.168.33.2/32 via ${c.hostRoute().join(', ')}`,
      `  try: scripts/cluster pass; scripts/cluster fault scvm-1 drop-icmp; scripts/cluster status`,
      `  shell in the host: ip netns exec ${c.ns('host')} bash`,
      `  tear down: scripts/cluster down --prefix ${c.prefix}`,
      '',
    ].join('\n'),
  );
}

function down(args: string[]): void {
  const prefix = flag(args, '--prefix');
  if (!prefix) throw new Error('down needs --prefix P (see scripts/cluster list)');
  checkPrefix(prefix);
  let removed: string[];
  try {
    const c = Cluster.attach(prefix);
    removed = namespacesWithPrefix(prefix);
    c.down();
  } catch {
    // no manifest: still remove namespaces carrying exactly this prefix
    removed = removeNamespacesWithPrefix(prefix);
  }
  process.stdout.write(`cluster ${prefix}: removed ${removed.length ? removed.join(' ') : 'nothing (no namespaces left)'}\n`);
}

function scvmKind(args: string[]): { scvm: ScvmName; kind: FaultKind } {
  const [scvm, kind] = args;
  if (!scvm || !(SCVM_NAMES as readonly string[]).includes(scvm)) {
    throw new Error(`first argument is the SCVM: ${SCVM_NAMES.join(', ')}`);
  }
  if (!kind || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`second argument is the fault kind: ${FAULT_KINDS.join(', ')}`);
  }
  return { scvm: scvm as ScvmName, kind: kind as FaultKind };
}

async function status(c: Cluster): Promise<void> {
  const who = await c.whoServesNfs();
  process.stdout.write(
    [
      `cluster ${c.prefix} (${c.flavour})`,
      `  host route 192.168.33.2/32 via ${c.hostRoute().join(', ') || '(none)'}`,
      `  NFS stand-in answered by: ${who ?? '(nobody)'}`,
      `  faults on: ${c.activeFaults().join(' ') || '(none)'}`,
      '',
    ].join('\n'),
  );
}

/** Run the cluster command line; returns the exit code. */
export async function clusterMain(argv: string[]): Promise<number> {
  const args = argv.slice();
  const cmd = args.shift();
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return cmd ? 0 : 2;
  }
  if (cmd !== 'list') {
    const why = netnsUnavailableReason();
    if (why) throw new Error(`the simulated cluster needs root and network namespaces: ${why}`);
  }
  switch (cmd) {
    case 'up':
      await up(args);
      return 0;
    case 'down':
      down(args);
      return 0;
    case 'list':
      process.stdout.write(`${Cluster.list().join('\n') || '(no cluster)'}\n`);
      return 0;
    case 'fault':
    case 'heal': {
      const prefix = flag(args, '--prefix');
      const opts = {
        periodSec: numberFlag(args, '--period-sec'),
        delayMs: numberFlag(args, '--delay-ms'),
      };
      const { scvm, kind } = scvmKind(args);
      const c = Cluster.attach(pickPrefix(prefix));
      if (cmd === 'fault') await c.fault(scvm, kind, opts);
      else await c.heal(scvm, kind);
      process.stdout.write(`${cmd} ${scvm} ${kind}: done; faults on: ${c.activeFaults().join(' ') || '(none)'}\n`);
      return 0;
    }
    case 'status':
      await status(Cluster.attach(pickPrefix(flag(args, '--prefix'))));
      return 0;
    case 'pass': {
      const prefix = flag(args, '--prefix');
      const flavour = flavourFlag(args);
      const c = Cluster.attach(pickPrefix(prefix));
      const r = await c.runPass(flavour ?? c.flavour);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.stdout.write(
        `pass exit ${r.code ?? r.signal} in ${r.endedAt - r.startedAt} ms; route via ${c.hostRoute().join(', ')}\n`,
      );
      return r.code ?? 1;
    }
    default:
      throw new Error(`unknown command "${cmd}"\n${USAGE}`);
  }
}
