// The channels an event goes through (lib/act): the hook through a real /bin/sh, syslog's key=value line, the bounded
// one-at-a-time queue, and the metrics file as Prometheus's own checker reads it (promtool, from scripts/install-deps).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OneAtATime } from '../../lib/act/deliver';
import { hookEnv, runHook } from '../../lib/act/hook';
import { metricsText, type MetricsInput } from '../../lib/act/metrics';
import { quoteValue, sendToSyslog, syslogLine } from '../../lib/act/syslog';

const dir = mkdtempSync(join(tmpdir(), 'reroute-told-'));
const fields: [string, string][] = [['event', 'switch'], ['seq', '7'], ['from', '10.10.85.15'], ['to', '10.10.85.16'], ['because', 'local SCVM "scvm-1" lost 3/3 echoes']];

describe('syslog line', () => {
  test('key=value, plain values bare, others quoted with escapes, on one line', () => {
    expect(quoteValue('10.10.85.15')).toBe('10.10.85.15');
    expect(quoteValue('a "b"\\c\nd')).toBe('"a \\"b\\"\\\\c d"');
    expect(syslogLine(fields)).toBe('event=switch seq=7 from=10.10.85.15 to=10.10.85.16 because="local SCVM \\"scvm-1\\" lost 3/3 echoes"');
  });

  test('a long value is cut so the line stays under 900 bytes; every key stays', () => {
    const line = syslogLine([['event', 'switch'], ['because', 'x'.repeat(5000)], ['to', '10.10.85.16']]);
    expect(line.length).toBeLessThanOrEqual(900);
    expect(line).toMatch(/^event=switch because=x+\.\.\. to=10\.10\.85\.16$/);
  });

  test('a missing logger is an error at once, not a hang', async () => {
    const t = Date.now();
    await expect(sendToSyslog('event=x', 'daemon.notice', { command: '/nonexistent/logger', timeoutMs: 2000 })).rejects.toThrow(/could not start/);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});

describe('hook', () => {
  test('runs through /bin/sh -c with the event as REROUTE_* variables', async () => {
    const out = join(dir, 'hook.env');
    await runHook(`env | grep ^REROUTE_ | sort > ${out}`, [...fields, ['downSec', '3']], 5000);
    expect(readFileSync(out, 'utf8')).toBe(
      'REROUTE_BECAUSE=local SCVM "scvm-1" lost 3/3 echoes\nREROUTE_DOWN_SEC=3\nREROUTE_EVENT=switch\nREROUTE_FROM=10.10.85.15\nREROUTE_SEQ=7\nREROUTE_TO=10.10.85.16\n',
    );
    expect(hookEnv([], '').PATH).toBe('/usr/sbin:/usr/bin:/sbin:/bin');
  });

  test('a hook past its timeout is killed with what it started; a failing one is an error', async () => {
    const pidFile = join(dir, 'bg.pid');
    const t = Date.now();
    await expect(runHook(`sleep 600 & echo $! > ${pidFile}; sleep 600`, fields, 300)).rejects.toThrow(/timed out|300/);
    expect(Date.now() - t).toBeLessThan(2000);
    const bg = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    // gone, or a zombie nobody reaped yet (its parent, the killed shell, is gone too)
    const state = (() => {
      try {
        return readFileSync(`/proc/${bg}/stat`, 'utf8').split(') ')[1]![0];
      } catch {
        return 'gone';
      }
    })();
    expect(['gone', 'Z']).toContain(state);
    await expect(runHook('echo nope >&2; exit 3', fields, 2000)).rejects.toThrow('exited 3: nope');
  });
});

describe('OneAtATime', () => {
  test('in order, one at a time, after the caller goes on; past its bound the oldest are dropped and counted', async () => {
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const q = new OneAtATime<number>(
      3,
      async (n) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 20));
        log.push(`done ${n}`);
        running--;
        if (n === 2) throw new Error('two fails');
      },
      (n) => started.push(n),
      (n, e) => log.push(`failed ${n}: ${e.message}`),
    );
    q.push([1, 2]);
    log.push('caller goes on');
    q.push([3, 4, 5]); // 1 and 2 wait behind nothing yet: 5 items > 3, so 1 and 2 are dropped
    expect(await q.drain(5000)).toBe(true);
    expect(log).toEqual(['caller goes on', 'done 3', 'done 4', 'done 5']);
    expect(q.stats).toEqual({ failed: 0, dropped: 2 });
    expect(most).toBe(1);
    expect(started).toEqual([2, 3, 4, 5]);
    q.push([2]);
    await q.drain(5000);
    expect(q.stats.failed).toBe(1);
  });
});

describe('metrics file', () => {
  const input: MetricsInput = {
    rerouted: true,
    reroutedSec: 930,
    localUp: false,
    noHealthyTarget: false,
    switches: { 'local-icmp-down': 2, 'local-stable': 1 },
    switchFailures: 0,
    lastPassAt: 1_796_000_000.5,
    lastPassDurationSec: 0.012,
    pinActive: false,
    pinForced: false,
    apiOk: true,
    icmp: { '10.10.85.15': { rttSec: null, loss: 1 }, '10.10.85.16': { rttSec: 0.00042, loss: 0 } },
    runnerRestarts: 1,
    events: { syslog: { failed: 0, dropped: 0 }, hook: { failed: 3, dropped: 1 } },
  };

  test('passes promtool check metrics', () => {
    const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
    if (which.status !== 0) throw new Error('promtool is missing: run scripts/install-deps (it installs Debian\'s prometheus)');
    const file = join(dir, 'reroute.prom');
    writeFileSync(file, metricsText(input));
    const r = spawnSync('promtool', ['check', 'metrics'], { input: readFileSync(file), encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  test('the example alert rules of docs/events.md pass promtool check rules', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8');
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, doc.split('```yaml\n')[1]!.split('```')[0]!);
    const r = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
    expect(r.stdout).toContain('SUCCESS: 5 rules found');
    expect(r.status).toBe(0);
  });

  test('says what an alert rule needs', () => {
    const text = metricsText(input);
    expect(text).toContain('reroute_rerouted 1\n');
    expect(text).toContain('reroute_rerouted_seconds 930\n');
    expect(text).toContain('reroute_switches_total{reason="local-icmp-down"} 2\n');
    expect(text).toContain('reroute_icmp_loss_ratio{scvm="10.10.85.15"} 1\n');
    expect(text).not.toContain('reroute_icmp_rtt_seconds{scvm="10.10.85.15"}');
    expect(text).toContain('reroute_icmp_rtt_seconds{scvm="10.10.85.16"} 0.00042\n');
    expect(text).toContain('reroute_event_delivery_failures_total{channel="hook"} 3\n');
  });
});
