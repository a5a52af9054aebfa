// Clock steps never shorten a wait. Each pass after the first runs with its wall clock stepped by +300 s or -300 s
// (faketime, FAKETIME_DONT_FAKE_MONOTONIC=1: only the wall clock moves, as NTP or an operator would move it), and
// every wait the agent keeps is what the monotonic clock says it is: the stable period (field incident: an NTP step
// of +300 s sent the route back to a local SCVM healthy for about 4 s), flap damping, a pin's end, the token's age,
// the warning rate limit. A run is checked with toMatchObject({ status: 0 }) so that a failure shows its stderr.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliLab, DATA, type CliLab } from '../support/cli-lab';

let labs: CliLab[] = [];
afterEach(async () => {
  await Promise.all(labs.map((l) => l.close()));
  labs = [];
});
const lab = async (...args: Parameters<typeof cliLab>) => {
  const l = await cliLab(...args);
  labs.push(l);
  return l;
};

const stepped = (step: string) => ({ prefix: ['faketime', '-f', step], env: { FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
const lastJournal = (l: CliLab) => {
  const record = JSON.parse(require('node:fs').readFileSync(join(l.dir, 'run', 'record.json'), 'utf8'));
  return record.engine.journal.at(-1) as { reason: string; because: string; to: string };
};

describe.each(['+300s', '-300s'])('the wall clock steps %s between passes', (step) => {
  it('the stable period is not shortened: the route stays on the remote SCVM', async () => {
    const l = await lab({ routeVia: DATA[1] }); // rerouted earlier; the local SCVM is healthy again from now on
    expect(await l.run(['loop'])).toMatchObject({ status: 0 });
    const r = await l.run(['loop'], stepped(step));
    expect(r).toMatchObject({ status: 0 });
    expect(l.vipVia()).toEqual([DATA[1]]);
    expect(lastJournal(l)).toMatchObject({ reason: 'remote-ok', to: DATA[1] });
    expect(lastJournal(l).because).toMatch(/local SCVM 127\.0\.0\.15 healthy for [0-9] s of the 180 s needed/);
  });

  it('flap damping does not decay: the stable period it lengthened stays as long', async () => {
    const l = await lab({ routeVia: DATA[1] });
    expect(await l.run(['loop'])).toMatchObject({ status: 0 });
    // a relapse history worth a 360 s stable period (penalty 2, half-life 900 s)
    const s = l.state();
    s.engine.damping = { penalty: 2, penaltyAt: s.clock.agent, relapses: [s.clock.agent] };
    writeFileSync(join(l.dir, 'state.json'), JSON.stringify(s));
    expect(await l.run(['loop'], stepped(step))).toMatchObject({ status: 0 });
    expect(lastJournal(l).because).toMatch(/of the 360 s needed/);
  });

  it('a pin for 4 minutes does not end early (nor late)', async () => {
    const l = await lab();
    expect(await l.run(['route', '--target', DATA[1], '--for', '4m'])).toMatchObject({ status: 0 });
    expect(await l.run(['loop'], stepped(step))).toMatchObject({ status: 0 });
    expect(l.state().pin).toMatchObject({ target: DATA[1] });
    expect(lastJournal(l)).toMatchObject({ reason: 'pinned', to: DATA[1] });
    expect(l.vipVia()).toEqual([DATA[1]]);
  });

  it('the API token is not judged older (or younger) than it is: no second login', async () => {
    const l = await lab({ api: { tokenLifetimeSec: 240 } });
    expect(await l.run(['loop'])).toMatchObject({ status: 0 });
    expect(await l.run(['loop'], stepped(step))).toMatchObject({ status: 0 });
    expect(l.emus.flatMap((e) => e.records.logins)).toHaveLength(1);
  });

  it('a rate-limited warning is not given again within its minute', async () => {
    const l = await lab();
    l.emus.forEach((e) => e.patch({ faults: { sessions: { status: 503 } } }));
    expect(await l.run(['loop'])).toMatchObject({ status: 0 });
    expect(await l.run(['loop'], stepped(step))).toMatchObject({ status: 0 });
    expect(l.log().match(/WARN no fresh session list/g)).toHaveLength(1);
  });
});
