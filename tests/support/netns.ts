// Network namespaces for tests: created with a unique prefix, torn down by the test that made them, nothing else.
// Network safety: packets to lab addresses (10.x, 192.168.x) may only leave from inside a namespace made here.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = join(__dirname, '..', '..');

/** The system packages scripts/install-deps would install (it holds the one list), or [] when none is missing. */
export function missingPackages(): string[] {
  const r = spawnSync(join(ROOT, 'scripts', 'install-deps'), ['--missing'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return [`(scripts/install-deps --missing failed: ${r.error?.message ?? r.stderr.trim()})`];
  return r.stdout.trim().split(/\s+/).filter(Boolean);
}

/** Why namespace tests cannot run here, or null when they can. */
export function netnsUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  const missing = missingPackages();
  if (missing.length > 0) return `missing system packages ${missing.join(' ')} (scripts/install-deps installs them, as root)`;
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `iproute2 "ip netns" unusable: ${r.error?.message ?? r.stderr.trim()}`;
  return null;
}

/**
 * `describe` where namespaces work; elsewhere a loud skip naming the reason. In CI (CI=true) they must run: there a
 * missing root or `ip netns` fails the suite instead of hiding it behind a skip.
 */
export function describeNetns(name: string, fn: () => void): void {
  const reason = netnsUnavailableReason();
  if (reason && process.env.CI === 'true') {
    describe(name, () => {
      it('needs root and network namespaces, which CI must provide', () => {
        throw new Error(`"${name}" cannot run in CI: ${reason} (.ci/run runs as root and scripts/install-deps installs the packages)`);
      });
    });
  } else if (reason) {
    console.warn(`SKIPPING "${name}": needs root and network namespaces (${reason})`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}

/** Throw unless `ip` is loopback: harness code in the root namespace must never send elsewhere. */
export function refuseOutsideLoopback(ip: string): void {
  if (!/^127\./.test(ip) && ip !== '::1' && ip !== 'localhost') {
    throw new Error(`refusing to contact ${ip} from the root namespace: only loopback is allowed here`);
  }
}

let counter = 0;

/** A set of namespaces owned by one test file. */
export class NetnsLab {
  readonly prefix: string;
  private readonly created: string[] = [];
  private readonly links: string[] = [];

  constructor(tag: string) {
    this.prefix = `rr${tag.slice(0, 4)}${process.pid % 100000}${counter++}`;
  }

  /** Create namespace `<prefix>-<name>` with lo up; returns its full name. */
  addNamespace(name: string): string {
    const ns = `${this.prefix}-${name}`;
    execFileSync('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run argv inside ns; throws with stderr on failure. */
  exec(ns: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    if (!this.created.includes(ns)) throw new Error(`namespace ${ns} was not created by this lab`);
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      input: opts.input,
      timeout: opts.timeoutMs ?? 20_000,
    });
    if (r.status !== 0) {
      throw new Error(`in ${ns}: ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    }
    return r.stdout;
  }

  /** Like exec but returns the whole result whatever the status. */
  execRaw(ns: string, argv: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    if (!this.created.includes(ns)) throw new Error(`namespace ${ns} was not created by this lab`);
    return spawnSync('ip', ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 20_000,
      env: opts.env ?? process.env,
    });
  }

  /** A veth pair between two namespaces of this lab, with an address on each side. */
  link(a: string, aCidr: string, b: string, bCidr: string): void {
    const n = this.links.length;
    const va = `${this.prefix.slice(-6)}a${n}`;
    const vb = `${this.prefix.slice(-6)}b${n}`;
    execFileSync('ip', ['link', 'add', va, 'netns', a, 'type', 'veth', 'peer', 'name', vb, 'netns', b]);
    this.links.push(va);
    this.exec(a, ['ip', 'addr', 'add', aCidr, 'dev', va]);
    this.exec(b, ['ip', 'addr', 'add', bCidr, 'dev', vb]);
    this.exec(a, ['ip', 'link', 'set', va, 'up']);
    this.exec(b, ['ip', 'link', 'set', vb, 'up']);
  }

  /** Delete every namespace this lab created (their veths go with them). Safe to call twice. */
  teardown(): void {
    for (const ns of this.created.splice(0)) {
      spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
        .stdout?.split('\n')
        .filter(Boolean)
        .forEach((pid) => {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone
          }
        });
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
}

const bundles = new Map<string, string>();

/**
 * Bundle a TypeScript entry (path relative to the repo root) into one JS file so it can run as a child process,
 * e.g. under `ip netns exec`. Cached per test process.
 */
export function bundleForChild(entry: string): string {
  const cached = bundles.get(entry);
  if (cached && existsSync(cached)) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'reroute-child-'));
  const outfile = join(dir, entry.replace(/[/\\]/g, '_').replace(/\.ts$/, '.js'));
  buildSync({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: ['raw-socket'],
    nodePaths: [join(ROOT, 'node_modules')],
    define: { __REROUTE_VERSION__: '"0.0.0-test"', __REROUTE_BUILD_TIME__: '"test"' },
    logLevel: 'error',
  });
  bundles.set(entry, outfile);
  return outfile;
}

/** Environment for child processes that must resolve raw-socket and friends from this repo. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), ...extra };
}
