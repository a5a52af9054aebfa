import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { processStartTime } from '../../lib/runtime/host';
import { formatOwner, type LockOwner } from '../../lib/runtime/lock';
import {
  BLOCK_BEGIN,
  BLOCK_END,
  LINE_MARKER,
  bootBlock,
  cadenceFor,
  countAgentLines,
  cronLines,
  guardCommandOf,
  hasBootBlock,
  isAgentLine,
  withAgentLines,
  withBootBlock,
  withoutAgentLines,
  withoutBootBlock,
} from '../../lib/install/crontab';
import { ConfigError, MissingValueError, UsageError } from '../../lib/errors';

const CMD = '/usr/bin/node /opt/reroute/reroute.js loop --config /scratch/reroute/config.json >/dev/null 2>&1';

// ESXi 8's root crontab as shipped (foreign lines that must survive install and uninstall).
const ESXI_CRONTAB = `#min hour day mon dow command
1    1    *   *   *   /sbin/tmpwatch.py
1    *    *   *   *   /sbin/auto-backup.sh ++group=host/vim/vmvisor/backup.sh
0    *    *   *   *   /usr/lib/vmware/vmksummary/log-heartbeat.py
*/5  *    *   *   *   /bin/hostd-probe.sh ++group=host/vim/vmvisor/hostd-probe/stats/sh
00   1    *   *   *   localcli storage core device purge
`;

const ESXI_LOCAL_SH = `#!/bin/sh ++group=host/vim/vmvisor/boot

# local configuration options

# Note: modify at your own risk!  If you do/use anything in this
# script that is not part of a stable API (relying on files to be in
# specific places, specific tools, specific output, etc) there is a
# possibility you will end up with a broken system after patching or
# upgrading.  Changes are not supported unless under direction of
# VMware support.

# Note: This script will not be run when UEFI secure boot is enabled.

exit 0
`;

const LOCK = '/var/run/reroute/runner.lock';
const RUN = (every: number) => CMD.replace(' loop ', ` loop --every ${every} `);
const GUARD =
  `set -f; IFS='= '; set -- $(readlink ${LOCK} 2>/dev/null); unset IFS; case "$1 $2 $3" in "pid "[1-9]*" start") p=$2 t=$4;; *) p=;; esac; ` +
  `[ -n "$p" ] && kill -0 "$p" 2>/dev/null && { [ ! -r /proc/$p/stat ] || { read -r x < /proc/$p/stat; set -- $x; while [ -n "$1" ]; do case "$1" in *")") shift; break;; esac; shift; done; case "$1 \${20}" in [ZX]*) false;; *" $t") true;; *) false;; esac; }; } ||`;

describe('cadenceFor', () => {
  test('under a minute: the long-lived mode, one process a minute, a guard checking every 5 s', () => {
    expect(cadenceFor(1)).toEqual({ mode: 'runner', everySec: 1, guards: [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55] });
    expect(cadenceFor(0.25)).toMatchObject({ mode: 'runner', everySec: 0.25 });
    expect(cadenceFor(10)).toMatchObject({ mode: 'runner', everySec: 10 });
    expect(cadenceFor(59)).toMatchObject({ mode: 'runner' });
  });

  test('whole minutes: one one-pass run each time, by the minute field', () => {
    expect(cadenceFor(60)).toEqual({ mode: 'pass', minuteField: '*' });
    expect(cadenceFor(120)).toEqual({ mode: 'pass', minuteField: '*/2' });
    expect(cadenceFor(3600)).toEqual({ mode: 'pass', minuteField: '0' });
  });

  test.each([0, 0.1, -10, 90, 420, 7200, NaN, Infinity])('refuses --every %p with a UsageError naming the option', (every) => {
    expect(() => cadenceFor(every)).toThrow(UsageError);
    expect(() => cadenceFor(every)).toThrow(/^--every /);
  });
});

describe('cronLines', () => {
  test('the long-lived mode: a runner at the top of each minute, and guard lines that start one only when none runs', () => {
    // even and odd minutes on lines of their own: a minute's runner outlives the minute, and busybox crond does not
    // start a line again while its last run still runs
    expect(cronLines(1, RUN(1), { runnerLock: LOCK })).toEqual([
      `*/2 * * * * ${RUN(1)} ${LINE_MARKER}`,
      `1-59/2 * * * * ${RUN(1)} ${LINE_MARKER}`,
      `* * * * * (for s in 5 10 15 20 25 30 35 40 45 50 55; do sleep 5; ${GUARD} ${RUN(1)} & done) >/dev/null 2>&1 & ${LINE_MARKER}`,
    ]);
    expect(guardCommandOf(cronLines(1, RUN(1), { runnerLock: LOCK })[2]!)).toBe(`${GUARD} ${RUN(1)}`);
    expect(guardCommandOf(cronLines(1, RUN(1), { runnerLock: LOCK })[0]!)).toBeNull();
  });

  test('no # before the marker: busybox crond ends a line at its first # (config_read), which cut the guard short', () => {
    for (const every of [1, 10, 0.25, 120]) {
      for (const line of cronLines(every, RUN(1), { runnerLock: LOCK })) expect(line.slice(0, line.lastIndexOf(` ${LINE_MARKER}`))).not.toContain('#');
    }
  });

  test('whole minutes: one line', () => {
    expect(cronLines(120, CMD, { runnerLock: LOCK })).toEqual([`*/2 * * * * ${CMD} ${LINE_MARKER}`]);
  });

  test('cron.d lines carry the user field', () => {
    expect(cronLines(1, RUN(1), { user: 'root', runnerLock: LOCK })[2]).toMatch(/^\* \* \* \* \* root \(for s in /);
  });

  test('refuses an empty command, characters cron would mangle, and a runner lock path that is not plain', () => {
    const o = { runnerLock: LOCK };
    expect(() => cronLines(10, '  ', o)).toThrow(MissingValueError);
    expect(() => cronLines(10, '/usr/bin/node /a%b/x.js loop', o)).toThrow(/contains %/);
    expect(() => cronLines(10, '/usr/bin/node x\nrm -rf /', o)).toThrow(UsageError);
    expect(() => cronLines(10, CMD, { runnerLock: '/var/run/re route/runner.lock' })).toThrow(/must be an absolute path of plain characters/);
  });

  // ESXi's sh is busybox ash; Debian's dash, CentOS's bash: the check is plain POSIX sh, run here by what is present
  const shells: [string, string[]][] = [['/bin/sh', ['/bin/sh']], ...(spawnSync('busybox', ['sh', '-c', 'true']).status === 0 ? [['busybox sh', ['busybox', 'sh']] as [string, string[]]] : [])];
  test.each(shells)('the guard, as %s runs it: no runner (no lock, a dead pid, a forged or stale lock) starts one; a live runner does not', (_name, shell) => {
    const dir = mkdtempSync(join(tmpdir(), 'reroute-guard-'));
    try {
      const lock = join(dir, 'runner.lock');
      const started = join(dir, 'started');
      const line = cronLines(1, `touch ${started}`, { runnerLock: lock })[2]!;
      const command = guardCommandOf(line)!;
      const run = () => {
        rmSync(started, { force: true });
        // as in the guard's loop: the check's last list in the background, the loop waits for nothing
        execFileSync(shell[0]!, [...shell.slice(1), '-c', `${command} & wait`], { cwd: dir });
        return existsSync(started);
      };
      const put = (owner: Partial<LockOwner>) => {
        rmSync(lock, { force: true });
        symlinkSync(formatOwner({ pid: process.pid, start: processStartTime(process.pid), boot: null, nonce: 'n', deadline: 1, ...owner }), lock);
      };
      expect(run()).toBe(true); // no lock file
      put({ pid: 2 ** 22 + 7 });
      expect(run()).toBe(true); // its pid is gone
      // issue 26 case 6: a forged lock naming pid 1 (alive) without a start time, and a pid now naming another process
      put({ pid: 1, start: null });
      expect(run()).toBe(true);
      put({ start: '1' });
      expect(run()).toBe(true);
      writeFileSync(join(dir, 'old'), JSON.stringify({ pid: process.pid, start: null }));
      rmSync(lock, { force: true });
      symlinkSync(join(dir, 'old'), lock); // not an owner record: a lock of another version, or damage
      expect(run()).toBe(true);
      rmSync(lock, { force: true });
      symlinkSync(`pid=${process.pid} start=* boot=- nonce=n deadline=1`, lock); // a glob where the start time goes
      writeFileSync(join(dir, `start=${processStartTime(process.pid)!}`), '');
      expect(run()).toBe(true);
      put({});
      expect(run()).toBe(false); // a live runner, the one that took the lock
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the guard line as busybox crond runs it (issue 27)', () => {
  test('its job ends at once (crond never skips it), and its checks run on in the background every 5 s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reroute-guard-'));
    const started = join(dir, 'started');
    const line = cronLines(1, `touch ${started}`, { runnerLock: join(dir, 'runner.lock') })[2]!;
    const command = line.replace(/^(\S+ ){5}/, '');
    const t0 = Date.now();
    // crond runs `sh -c <command>` in a process group of its own, as here
    const job = spawn('/bin/sh', ['-c', command], { detached: true, stdio: 'ignore' });
    try {
      const code = await new Promise<number | null>((resolve) => job.on('exit', resolve));
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(1000); // the job crond waits for is over
      expect(existsSync(started)).toBe(false);
      for (let i = 0; i < 80 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(started)).toBe(true); // the first check, 5 s in: no runner lock, so it starts one
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
    } finally {
      try {
        process.kill(-job.pid!, 'SIGKILL'); // the loop still sleeping towards its next checks
      } catch {
        // gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('withAgentLines / withoutAgentLines', () => {
  const lines10 = cronLines(10, RUN(10), { runnerLock: LOCK });

  test('install keeps every foreign line, uninstall gives back the exact original', () => {
    const installed = withAgentLines(ESXI_CRONTAB, lines10);
    expect(installed).toBe(ESXI_CRONTAB + lines10.join('\n') + '\n');
    expect(withoutAgentLines(installed)).toBe(ESXI_CRONTAB);
  });

  test('install twice changes nothing', () => {
    const once = withAgentLines(ESXI_CRONTAB, lines10);
    expect(withAgentLines(once, lines10)).toBe(once);
  });

  test('a different cadence replaces ours only, in place', () => {
    const foreignAfter = '30 2 * * * /bin/other-job.sh\n';
    const once = withAgentLines(ESXI_CRONTAB, lines10) + foreignAfter;
    const lines30 = cronLines(120, CMD, { runnerLock: LOCK });
    const again = withAgentLines(once, lines30);
    expect(again).toBe(ESXI_CRONTAB + lines30.join('\n') + '\n' + foreignAfter);
    expect(countAgentLines(again)).toBe(1);
  });

  test('a line that only mentions the marker in the middle is not ours', () => {
    const foreign = `0 * * * * echo "${LINE_MARKER}" >> /tmp/x\n`;
    expect(isAgentLine(foreign.trimEnd())).toBe(false);
    expect(withoutAgentLines(foreign + lines10.join('\n') + '\n')).toBe(foreign);
  });

  test('a last line without newline is kept and terminated (cron ignores an unterminated last line)', () => {
    expect(withAgentLines('0 1 * * * /bin/x', ['a # reroute-agent'])).toBe('0 1 * * * /bin/x\na # reroute-agent\n');
  });

  test('uninstall of a crontab without our lines returns the same text', () => {
    expect(withoutAgentLines(ESXI_CRONTAB)).toBe(ESXI_CRONTAB);
    expect(withoutAgentLines('')).toBe('');
  });

  test('property: foreign lines and their order survive install and uninstall; install is idempotent', () => {
    const foreignLine = fc
      .string({ maxLength: 40 })
      .map((s) => s.replace(/\n/g, ' '))
      .filter((s) => !isAgentLine(s));
    fc.assert(
      fc.property(fc.array(foreignLine, { maxLength: 12 }), fc.constantFrom(0.25, 1, 10, 30, 60, 300), (foreign, every) => {
        const text = foreign.map((l) => l + '\n').join('');
        const lines = cronLines(every, CMD, { runnerLock: LOCK });
        const installed = withAgentLines(text, lines);
        expect(withAgentLines(installed, lines)).toBe(installed);
        expect(countAgentLines(installed)).toBe(lines.length);
        expect(withoutAgentLines(installed)).toBe(text);
      }),
    );
  });
});

describe('boot block (ESXi local.sh)', () => {
  const FILE = '/etc/rc.local.d/local.sh';
  const block = bootBlock({
    crontabPath: '/var/spool/cron/crontabs/root',
    crondPidFile: '/var/run/crond.pid',
    crondStart: '/usr/lib/vmware/busybox/bin/busybox crond',
    lines: cronLines(10, RUN(10), { runnerLock: LOCK }),
  });

  test('the block drops stale lines, appends ours through a quoted here-document and restarts crond', () => {
    expect(block[0]).toBe(BLOCK_BEGIN);
    expect(block[1]).toBe(`/bin/sed -i '/ ${LINE_MARKER}$/d' /var/spool/cron/crontabs/root`);
    expect(block[2]).toBe(`/bin/cat >> /var/spool/cron/crontabs/root <<'REROUTE_AGENT_EOF'`);
    expect(block.slice(3, 6)).toEqual(cronLines(10, RUN(10), { runnerLock: LOCK }));
    expect(block.slice(6)).toEqual([
      'REROUTE_AGENT_EOF',
      '/bin/kill $(/bin/cat /var/run/crond.pid 2>/dev/null) 2>/dev/null',
      '/usr/lib/vmware/busybox/bin/busybox crond',
      BLOCK_END,
    ]);
  });

  test('goes before the closing exit 0, everything else kept; removal restores the original', () => {
    const out = withBootBlock(ESXI_LOCAL_SH, block, FILE);
    expect(out).toBe(ESXI_LOCAL_SH.replace(/exit 0\n$/, block.join('\n') + '\nexit 0\n'));
    expect(hasBootBlock(out, FILE)).toBe(true);
    expect(withoutBootBlock(out, FILE)).toBe(ESXI_LOCAL_SH);
  });

  test('adding twice changes nothing; a new cadence replaces the block', () => {
    const once = withBootBlock(ESXI_LOCAL_SH, block, FILE);
    expect(withBootBlock(once, block, FILE)).toBe(once);
    const block30 = bootBlock({
      crontabPath: '/var/spool/cron/crontabs/root',
      crondPidFile: '/var/run/crond.pid',
      crondStart: '/usr/lib/vmware/busybox/bin/busybox crond',
      lines: cronLines(30, RUN(30), { runnerLock: LOCK }),
    });
    const other = withBootBlock(once, block30, FILE);
    expect(other).toBe(withBootBlock(ESXI_LOCAL_SH, block30, FILE));
    expect(other.split(BLOCK_BEGIN)).toHaveLength(2);
  });

  test('an exit 0 inside an indented branch is not the closing one', () => {
    const script = '#!/bin/sh\nif [ -e /x ]; then\n  exit 0\nfi\necho hi\n';
    expect(withBootBlock(script, block, FILE)).toBe(script + block.join('\n') + '\n');
  });

  test('a damaged block (begin without end) is refused, not guessed at', () => {
    const damaged = ESXI_LOCAL_SH.replace('exit 0', `${BLOCK_BEGIN}\n/bin/true\nexit 0`);
    expect(() => withBootBlock(damaged, block, FILE)).toThrow(ConfigError);
    expect(() => withoutBootBlock(damaged, FILE)).toThrow(/no matching end marker: remove the reroute lines by hand/);
  });

  test('refuses to build the block from a missing path', () => {
    expect(() =>
      bootBlock({ crontabPath: '', crondPidFile: '/var/run/crond.pid', crondStart: 'crond', lines: ['x # reroute-agent'] }),
    ).toThrow(MissingValueError);
    expect(() =>
      bootBlock({ crontabPath: '/var/spool/cron/crontabs/root', crondPidFile: '/var/run/crond.pid', crondStart: 'crond', lines: [] }),
    ).toThrow(MissingValueError);
  });
});

describe('boot block run by a real shell (as ESXi runs local.sh at boot)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reroute-boot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('restores our lines once, keeps foreign ones, replaces stale ones, restarts crond; twice = same crontab', () => {
    const tab = `${dir}/root`;
    const started = `${dir}/crond-started`;
    const lines = cronLines(20, `/usr/bin/node '/vmfs/volumes/data store/reroute.js' loop --every 20 --config /scratch/c.json >/dev/null 2>&1`, { runnerLock: LOCK });
    const script = withBootBlock(
      '#!/bin/sh\necho before > /dev/null\nexit 0\n',
      bootBlock({ crontabPath: tab, crondPidFile: `${dir}/crond.pid`, crondStart: `/bin/sh -c 'echo x >> ${started}'`, lines }),
      'local.sh',
    );
    writeFileSync(`${dir}/local.sh`, script);
    // What the image gives at boot: the stock crontab plus, say, a stale line of ours from an older install.
    writeFileSync(tab, ESXI_CRONTAB + `* * * * * sleep 0; /old/node /old/reroute.js loop ${LINE_MARKER}\n`);
    execFileSync('/bin/sh', [`${dir}/local.sh`]);
    expect(readFileSync(tab, 'utf8')).toBe(ESXI_CRONTAB + lines.join('\n') + '\n');
    execFileSync('/bin/sh', [`${dir}/local.sh`]);
    expect(readFileSync(tab, 'utf8')).toBe(ESXI_CRONTAB + lines.join('\n') + '\n');
    expect(readFileSync(started, 'utf8')).toBe('x\nx\n');
  });
});
