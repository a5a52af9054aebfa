// Namespaces owned by an exact, caller-chosen prefix, so another process (scripts/cluster down --prefix P) can find
// and remove them later. Only names `<prefix>-<name>` are ever touched; nothing outside them.
import { execFileSync, spawn, spawnSync, type SpawnOptions, type ChildProcess } from 'node:child_process';

/** A prefix is short and plain so `<prefix>-<name>` can never match a namespace someone else made by accident. */
export function checkPrefix(prefix: string): void {
  if (!/^rr[a-z0-9]{3,14}$/.test(prefix)) {
    throw new Error(`bad cluster prefix "${prefix}": use "rr" then 3-14 lowercase letters or digits, e.g. rrdemo1`);
  }
}

/** Namespaces that exist now and carry `prefix`. */
export function namespacesWithPrefix(prefix: string): string[] {
  checkPrefix(prefix);
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
}

/** Kill every process inside `<prefix>-*` namespaces and delete them (their veths and bridges go with them). */
export function removeNamespacesWithPrefix(prefix: string): string[] {
  const gone = namespacesWithPrefix(prefix);
  for (const ns of gone) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of gone) spawnSync('ip', ['netns', 'del', ns]);
  return gone;
}

/** A set of namespaces named `<prefix>-<name>`; refuses a prefix that is already in use. */
export class PrefixedNetns {
  readonly prefix: string;

  constructor(prefix: string) {
    checkPrefix(prefix);
    const taken = namespacesWithPrefix(prefix);
    if (taken.length > 0) {
      throw new Error(`prefix ${prefix} is in use (${taken.join(', ')}): choose another or run scripts/cluster down --prefix ${prefix}`);
    }
    this.prefix = prefix;
  }

  /** Full namespace name of `name`. */
  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** Create `<prefix>-<name>` with lo up; returns the full name. */
  add(name: string): string {
    const ns = this.ns(name);
    execFileSync('ip', ['netns', 'add', ns]);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  private own(ns: string): void {
    if (!ns.startsWith(`${this.prefix}-`)) throw new Error(`namespace ${ns} does not belong to cluster ${this.prefix}`);
  }

  /** Run argv inside ns; throws with stderr on failure. */
  exec(ns: string, argv: string[], timeoutMs = 20_000): string {
    this.own(ns);
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) {
      throw new Error(`in ${ns}: ${argv.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
    }
    return r.stdout;
  }

  /** Run argv inside ns without waiting; the caller owns the child. */
  spawnIn(ns: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    this.own(ns);
    return spawn('ip', ['netns', 'exec', ns, ...argv], opts);
  }

  /** A veth pair: `aName` inside namespace a, `bName` inside namespace b, both up, no addresses. */
  veth(a: string, aName: string, b: string, bName: string): void {
    this.own(a);
    this.own(b);
    execFileSync('ip', ['link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
    this.exec(a, ['ip', 'link', 'set', aName, 'up']);
    this.exec(b, ['ip', 'link', 'set', bName, 'up']);
  }

  /** Delete every namespace of this prefix. Safe to call twice, and from another process. */
  teardown(): string[] {
    return removeNamespacesWithPrefix(this.prefix);
  }
}
