// The shape of lib/, held by a test: arrows point down only (each folder imports only the folders below it), runtime/
// imports nothing above it, the engine does no I/O, and no file imports itself round a cycle. Every import counts:
// static, dynamic, require() and type-only ones.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = join(__dirname, '..', 'lib');

/** What each part of lib/ may import, besides itself. A part is a folder of lib/, or a file at its top. */
const MAY_IMPORT: Record<string, string[]> = {
  cli: ['boot', 'doctor', 'pass', 'act', 'install', 'observe', 'routes', 'decide', 'state', 'config', 'runtime', 'net', 'errors', 'rate', 'types', 'build-info'],
  doctor: ['boot', 'pass', 'act', 'install', 'observe', 'routes', 'decide', 'state', 'config', 'runtime', 'net', 'errors', 'rate', 'types', 'build-info'],
  boot: ['runtime', 'config', 'errors', 'rate', 'types'],
  pass: ['act', 'observe', 'routes', 'decide', 'state', 'config', 'runtime', 'net', 'errors', 'rate', 'types'],
  act: ['observe', 'routes', 'decide', 'config', 'runtime', 'net', 'errors', 'rate', 'types'],
  install: ['routes', 'config', 'runtime', 'net', 'errors', 'rate', 'types'],
  state: ['observe', 'decide', 'config', 'runtime', 'net', 'errors', 'rate', 'types'],
  observe: ['routes', 'decide', 'config', 'runtime', 'net', 'errors', 'rate', 'types'],
  routes: ['config', 'runtime', 'net', 'errors', 'rate', 'types'],
  decide: ['config', 'net', 'errors', 'rate', 'types'],
  config: ['runtime', 'net', 'errors', 'rate', 'types'],
  runtime: ['errors', 'rate'],
  net: [],
  errors: [],
  types: [],
  'build-info': [],
  rate: [],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The part of lib/ a file belongs to. */
function partOf(file: string): string {
  const rel = relative(LIB, file);
  return rel.includes('/') ? rel.split('/')[0]! : rel.replace(/\.ts$/, '');
}

/** Every module specifier a file imports, however. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s+'([^']+)'/g, /\bimport\(\s*'([^']+)'\s*\)/g, /\brequire\(\s*'([^']+)'\s*\)/g, /^import\s+'([^']+)'/gm];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** A relative specifier as the lib/ file it names. */
function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.') || spec.endsWith('.json')) return null;
  const base = resolve(dirname(from), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`${relative(LIB, from)} imports ${spec}, which is no file of lib/`);
}

const graph = new Map<string, { local: string[]; external: string[] }>();
for (const f of files(LIB)) {
  const specs = specifiers(readFileSync(f, 'utf8'));
  const local: string[] = [];
  const external: string[] = [];
  for (const s of specs) {
    const r = resolveLocal(f, s);
    if (r) local.push(r);
    else external.push(s);
  }
  graph.set(f, { local: [...new Set(local)], external });
}

describe('lib/ layers', () => {
  test('every part of lib/ is known to this test', () => {
    const parts = new Set([...graph.keys()].map(partOf));
    expect([...parts].filter((p) => !(p in MAY_IMPORT))).toEqual([]);
  });

  test('arrows point down only', () => {
    const wrong: string[] = [];
    for (const [f, { local }] of graph) {
      const from = partOf(f);
      for (const to of local.map(partOf)) {
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) wrong.push(`${relative(LIB, f)} -> ${to}/`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('a layer has a face (issue 32): lib/pass reaches observe/ only through observe/index.ts (openObserver)', () => {
    const face = join(LIB, 'observe', 'index.ts');
    const through: string[] = [];
    for (const [f, { local }] of graph) {
      if (partOf(f) !== 'pass') continue;
      for (const g of local) if (partOf(g) === 'observe' && g !== face) through.push(`${relative(LIB, f)} -> ${relative(LIB, g)}`);
    }
    expect(through).toEqual([]);
  });

  test('the agent\'s running path imports no install code (issue 32): `loop`\'s files-on-NFS check is a host check (doctor/)', () => {
    const loop = join(LIB, 'cli', 'commands', 'loop.ts');
    expect(graph.get(loop)!.local.filter((g) => partOf(g) === 'install').map((g) => relative(LIB, g))).toEqual([]);
  });

  test('the engine is pure: lib/decide imports no node:* module and no package that does I/O', () => {
    const io: string[] = [];
    for (const [f, { external }] of graph) {
      if (partOf(f) !== 'decide') continue;
      for (const s of external) if (s !== 'zod') io.push(`${relative(LIB, f)} -> ${s}`);
    }
    expect(io).toEqual([]);
  });

  test('no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const g of graph.get(f)!.local) {
        if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((x) => relative(LIB, x)).join(' -> '));
        else if (!state.has(g)) visit(g);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});

describe('one exit path (issue 26)', () => {
  test('process.exit (and reallyExit, abort) appears in lib/ only in cli/exit.ts', () => {
    const exits = [...graph.keys()]
      .filter((f) => /process\.(exit|reallyExit|abort)\s*\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(LIB, f));
    expect(exits).toEqual(['cli/exit.ts']);
  });

  test('which errors end the runner is said in errors.ts only: the runner asks it, keeps no list of codes', () => {
    const runner = readFileSync(join(LIB, 'pass', 'runner.ts'), 'utf8');
    expect(runner).toMatch(/endsTheRunner\(e\)/);
    expect(runner).not.toMatch(/'E_[A-Z_]+'/);
  });
});
