// `reroute simulate` over the shipped example timelines, and its refusal of bad files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/cli/commands/simulate';
import type { CommandEnv } from '../../lib/cli/context';
import { UsageError } from '../../lib/errors';
import { LOCAL, M16, R16, R17 } from './builders';

const EXAMPLES = join(__dirname, '../../examples/timelines');

function capture(): CommandEnv & { lines: string[] } {
  const lines: string[] = [];
  return { lines, globals: { dryRun: false, verbose: false }, display: { out: (l) => lines.push(l), err: (l) => lines.push(l) } };
}

async function json(name: string) {
  const env = capture();
  expect(await run({ file: join(EXAMPLES, `${name}.json`), json: true }, env)).toBe(0);
  const r = JSON.parse(env.lines.join('\n'));
  return { ...r, moves: r.switches.map((s: { atSec: number; from: string; to: string; reason: string }) => [s.atSec, s.from, s.to, s.reason]) };
}

describe('simulate over the example timelines', () => {
  test('scvm-crash: out on the first pass after ping is lost, back 180 s after the session returns', async () => {
    const r = await json('scvm-crash');
    expect(r.moves).toEqual([[65, LOCAL, R16, 'local-icmp-down'], [545, R16, LOCAL, 'local-stable']]);
    expect([r.deadPathSec, r.reroutedSec]).toEqual([4, 480]);
  });

  test('scvm-reboot: the one list showing the session ended does not move the route; ping loss does, at once', async () => {
    const r = await json('scvm-reboot');
    expect(r.moves).toEqual([[70, LOCAL, R16, 'local-icmp-down'], [385, R16, LOCAL, 'local-stable']]);
  });

  test('chunk-flapping: one switch out at the second restart (confirmed), one back, long after the flapping stopped', async () => {
    const r = await json('chunk-flapping');
    expect(r.moves.map((m: unknown[]) => m.slice(1))).toEqual([[LOCAL, R16, 'local-session-dead'], [R16, LOCAL, 'local-stable']]);
    expect(r.moves[0][0]).toBe(85);
    expect(r.moves[1][0]).toBeGreaterThan(649 + 180);
  });

  test('storage-network-cut: secondary channel, then a data IP, then home', async () => {
    const r = await json('storage-network-cut');
    expect(r.moves.map((m: unknown[]) => m.slice(1))).toEqual([
      [LOCAL, M16, 'secondary-channel'],
      [M16, R16, 'leave-secondary'],
      [R16, LOCAL, 'local-stable'],
    ]);
  });

  test('api-outage: no switch for the outage itself; back only after the API confirms local for 180 s', async () => {
    const r = await json('api-outage');
    expect(r.moves).toEqual([[305, LOCAL, R16, 'local-icmp-down'], [840, R16, LOCAL, 'local-stable']]);
  });

  test('slow-relapse: damping keeps it to one switch out and one back', async () => {
    const r = await json('slow-relapse');
    expect(r.moves.map((m: unknown[]) => m[3])).toEqual(['local-session-dead', 'local-stable']);
  });

  test('pin-target-dies, text output: the operator\'s commands and the agent clearing the pin, in time order', async () => {
    const env = capture();
    expect(await run({ file: join(EXAMPLES, 'pin-target-dies.json'), json: false }, env)).toBe(0);
    expect(env.lines).toEqual([
      `t=   30s  route --target ${R17}: pinned`,
      `t=   30s  switch ${LOCAL} -> ${R17}  [pinned] pinned by an operator to ${R17} until \`reroute route --auto\``,
      `t=  185s  pin to ${R17} cleared by the agent: its target failed past decide.pinGraceSec`,
      `t=  185s  switch ${R17} -> ${LOCAL}  [local-stable] pin to ${R17} cleared (${R17} does not answer ping for 60 s, grace 60 s); LOOP: local SCVM ${LOCAL} healthy for 185 s (180 s needed): going back`,
      'summary pin-target-dies: 2 switch(es) over 600 s (120 passes, 4 health change(s)); 64 s on a dead path; 155 s rerouted',
    ]);
  });

  test('text output: one line per switch with its reason, then the summary', async () => {
    const env = capture();
    expect(await run({ file: join(EXAMPLES, 'scvm-crash.json'), json: false }, env)).toBe(0);
    expect(env.lines).toEqual([
      `t=   65s  switch ${LOCAL} -> ${R16}  [local-icmp-down] local SCVM ${LOCAL} does not answer ping: switching to ${R16} (slot of this host when 1 host(s) without a usable SCVM share 2 usable SCVM(s))`,
      `t=  545s  switch ${R16} -> ${LOCAL}  [local-stable] local SCVM ${LOCAL} healthy for 180 s (180 s needed): going back`,
      'summary scvm-crash: 2 switch(es) over 900 s (180 passes, 6 health change(s)); 4 s on a dead path; 480 s rerouted',
    ]);
  });
});

describe('simulate refuses bad timelines with one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-sim-'));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  test.each([
    ['not JSON', '{', /^timeline .*bad1\.json: not valid JSON/],
    ['no duration', '{"events":[]}', /key "durationSec": Required/],
    ['unknown SCVM', '{"durationSec":10,"events":[{"at":1,"set":{"scvms":{"10.1.1.1":{"icmp":false}}}}]}', /10\.1\.1\.1 is not the local or a config\.scvms data IP/],
    ['bad config', '{"durationSec":10,"config":{"decide":{"backToNormalSec":-1}}}', /config: key "decide\.backToNormalSec" is -1/],
    ['every without until', '{"durationSec":10,"events":[{"at":1,"every":2,"set":{}}]}', /"every" and "until" go together/],
  ])('%s', async (_name, text, message) => {
    const file = write(`bad${['not JSON', 'no duration', 'unknown SCVM', 'bad config', 'every without until'].indexOf(_name) + 1}.json`, text);
    const err = await run({ file, json: false }, capture()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  test('missing file', async () => {
    await expect(run({ file: join(dir, 'nope.json'), json: false }, capture())).rejects.toThrow(/cannot read it \(ENOENT\)/);
  });
});
