// The long-lived runner says at its end, at log level debug, what it took from its host: the field tests read it on
// real ESXi and XenServer hosts (docs/esxi.md, docs/xen.md), where there is no other way to see a process's peak RSS.
import { cliLab, type CliLab } from '../support/cli-lab';

jest.setTimeout(30_000);

let lab: CliLab;
afterEach(async () => lab?.close());

it('a runner ends with its passes, CPU time and peak RSS in the log', async () => {
  lab = await cliLab({ config: { log: { level: 'debug' } } });
  const r = await lab.run(['loop', '--every', '1', '--for', '3']);
  expect(r.status).toBe(0);
  const m = /runner: done \(end\) after \d+ s, (\d+) passes; CPU (\d+) ms, max RSS (\d+\.\d) MB/.exec(lab.log());
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThanOrEqual(2);
  expect(Number(m![2])).toBeGreaterThan(0);
  expect(Number(m![3])).toBeGreaterThan(20); // a Node process: tens of MB, never 0
});
