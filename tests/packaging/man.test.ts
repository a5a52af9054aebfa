// Issue 31: the manual pages and the bash completion are generated from the CLI, the config schema and the runbook,
// so they name every command, option, config key and help topic; groff renders them without a warning, and the
// completion completes in a real bash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../lib/cli/main';
import { runbookTopics } from '../../lib/cli/help/runbook';
import { configRows } from '../../lib/config/doc';
import { COMPLETION, MAN5, MAN8, roff, shareFiles } from '../../scripts/pack/man';

const files = shareFiles('2026-12-07');
const program = buildProgram(() => undefined);
const topics = runbookTopics();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-man-'));
  for (const [rel, text] of files) {
    const f = join(dir, rel.replace(/\//g, '_'));
    writeFileSync(f, text);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (rel: string) => join(dir, rel.replace(/\//g, '_'));

describe('reroute(8)', () => {
  const page = files.get(MAN8)!;

  it('names every command with its arguments, and every option of each and of the program', () => {
    expect(program.commands.length).toBeGreaterThanOrEqual(10);
    const leaves = program.commands.flatMap((c) => (c.commands.length ? c.commands.map((s) => ({ name: `${c.name()} ${s.name()}`, c: s })) : [{ name: c.name(), c }]));
    expect(leaves.map((l) => l.name)).toContain('config check');
    for (const { name, c } of leaves) {
      expect(page).toMatch(new RegExp(`^\\.B ${roff(name).replace(/\\/g, '\\\\')}( |$)`, 'm'));
      expect(page).toContain(roff(c.description()).slice(0, 40));
      for (const o of c.options) expect(page).toContain(`.B ${roff(o.flags)}`);
    }
    for (const o of program.options) expect(page).toContain(roff(o.flags));
  });

  it('lists every runbook topic, the exit codes and the config page', () => {
    expect(topics.map((t) => t.name)).toEqual(['datastore-lost', 'pin', 'scvm-upgrade', 'rollout', 'rollback', 'downgrade', 'files']);
    for (const t of topics) expect(page).toContain(`.B ${roff(t.name)}\n`);
    for (const code of ['0', '1', '2', '3']) expect(page).toContain(`.TP\n.B ${code}\n`);
    expect(page).toContain('.BR reroute\\-config (5)');
  });

  it('renders with groff without a single warning', () => {
    for (const rel of [MAN8, MAN5]) {
      const r = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8', path(rel)], { encoding: 'utf8' });
      expect({ rel, status: r.status, stderr: r.stderr }).toEqual({ rel, status: 0, stderr: '' });
    }
  });
});

describe('reroute-config(5)', () => {
  it('names every key of the config schema with its default', () => {
    const page = files.get(MAN5)!;
    const rows = configRows();
    expect(rows.length).toBeGreaterThan(40);
    for (const r of rows) expect(page).toContain(`.B ${roff(r.key)}\n`);
    expect(page).toContain('ESXi \\fB"/scratch/reroute/state.json"\\fR');
    expect(page).not.toContain('\\&.'); // a sentence's full stop is text, not an escaped control line
  });
});

describe('the bash completion', () => {
  const complete = (line: string[]): string[] => {
    const script = `source ${path(COMPLETION)}; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _reroute; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean);
  };

  it('completes commands, their options and the help topics', () => {
    expect(complete(['reroute', 'ro'])).toEqual(['route']);
    expect(complete(['reroute', '--config', '/x.json', 'route', '--t'])).toEqual(['--target']);
    expect(complete(['reroute', 'help', 'sc'])).toEqual(['scvm-upgrade']);
    expect(complete(['reroute', 'uninstall', '--re'])).toEqual(['--restore-old-agent']);
    expect(complete(['reroute', 'config', ''])).toEqual(['check']);
    expect(complete(['reroute', ''])).toEqual(expect.arrayContaining(program.commands.map((c) => c.name())));
  });
});
