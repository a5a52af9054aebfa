// Issue 31: `reroute help <topic>` is the runbook on the host (ESXi has no man): the built CLI prints each section of
// docs/operations.md, lists topics and commands, and refuses an unknown name in one line (exit 2).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTopics } from '../../lib/cli/help/runbook';

const BIN = join(__dirname, '..', '..', 'bin', 'reroute');
const reroute = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
const runbook = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');

describe('reroute help', () => {
  it('prints each runbook topic as docs/operations.md has it, from the built CLI', () => {
    const topics = parseTopics(runbook);
    expect(topics.length).toBe(7);
    for (const t of topics) {
      const r = reroute('help', t.name);
      expect({ topic: t.name, status: r.status, stderr: r.stderr }).toEqual({ topic: t.name, status: 0, stderr: '' });
      expect(r.stdout).toBe(`${t.text}\n`);
      expect(r.stdout.startsWith(`## ${t.title}\n`)).toBe(true);
    }
  });

  it('without a name lists the commands and every topic with its title', () => {
    const r = reroute('help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Commands:\n(.|\n)*\n {2}route /);
    expect(r.stdout).toContain('Runbook topics (reroute help <topic>):\n  datastore-lost  At 3 am: a host lost its NFS datastore\n');
    expect(r.stdout).toContain('  files           Where the agent keeps things\n');
  });

  it('a command name shows its usage; an unknown name is one line and exit 2', () => {
    expect(reroute('help', 'route').stdout).toMatch(/^Usage: reroute route \[options\]/);
    const r = reroute('help', 'datastore');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("reroute: unknown help topic 'datastore': use a command or one of datastore-lost, pin, scvm-upgrade, rollout, rollback, downgrade, files (reroute help lists them)\n");
  });

  it('parses only marked sections: text before the first marker is no topic', () => {
    expect(parseTopics('# Title\nintro\n<!-- topic: a-b -->\n## First\none\n<!-- topic: c -->\n## Second\ntwo\n')).toEqual([
      { name: 'a-b', title: 'First', text: '## First\none' },
      { name: 'c', title: 'Second', text: '## Second\ntwo' },
    ]);
  });
});
