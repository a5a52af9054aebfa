// Pure text edits for `reroute install` / `uninstall`: the marked cron lines and the marked boot block.
// Nothing here reads or writes a file; targets.ts knows where the texts live.
import { ConfigError, MissingValueError, UsageError } from '../errors';
import { MIN_EVERY_SEC } from '../config/cadence';

/** Every cron line the agent owns ends with this comment; uninstall removes exactly those lines. */
export const LINE_MARKER = '# reroute-agent';
/** First and last line of the boot block in ESXi's /etc/rc.local.d/local.sh. */
export const BLOCK_BEGIN = '# >>> reroute-agent: restores the reroute cron lines at boot (`reroute uninstall` removes this block)';
export const BLOCK_END = '# <<< reroute-agent';

/**
 * How cron runs the agent. Under a minute: the long-lived mode, one process a minute (`loop --every`), started at the
 * top of each minute, plus a guard line that checks every 5 s and starts one only when none runs (a process that died
 * is replaced within 5-7 s; the check is a shell `kill -0` on the runner lock's pid and its start time, no Node
 * start). Whole minutes dividing an hour: one one-pass run each time (`*\/m`).
 *
 * busybox crond (ESXi's) does not start a line while that line's last job still runs ("process already running"), and
 * it collects a finished job only when it wakes (every 10 s while jobs run, else at the minute), after deciding that
 * minute's jobs (miscutils/crond.c: flag_starting_jobs, start_jobs, then check_completions). So:
 * - the minute's process is started by two lines, even minutes and odd ones: it lives a few seconds into the next
 *   minute (the hand-over), and one line for every minute left every other minute without a runner;
 * - the guard line's job ends at once: its checks run in a background subshell, and a runner it starts is that
 *   subshell's child, not crond's (issue 27: guards that slept in crond's job, and ran the runner they started there,
 *   were skipped when that runner or a check ending just after crond's look was still the line's job at the minute).
 */
export type Cadence = { mode: 'runner'; everySec: number; guards: number[] } | { mode: 'pass'; minuteField: string };

/** the guard's checks: every GUARD_EVERY_SEC from the minute's start (the minute's line covers :00) */
export const GUARD_EVERY_SEC = 5;
const GUARD_OFFSETS = Array.from({ length: 60 / GUARD_EVERY_SEC - 1 }, (_, i) => (i + 1) * GUARD_EVERY_SEC);
const WHOLE_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

/** The cron plan for a cadence in seconds. */
export function cadenceFor(everySec: number): Cadence {
  if (Number.isFinite(everySec) && everySec >= MIN_EVERY_SEC && everySec < 60) {
    return { mode: 'runner', everySec, guards: GUARD_OFFSETS };
  }
  if (Number.isInteger(everySec) && everySec % 60 === 0 && WHOLE_MINUTES.includes(everySec / 60)) {
    const m = everySec / 60;
    return { mode: 'pass', minuteField: m === 1 ? '*' : m === 60 ? '0' : `*/${m}` };
  }
  throw new UsageError(
    `--every ${String(everySec)}: use seconds from ${MIN_EVERY_SEC} to 59 (a long-lived process a minute) or whole minutes dividing an hour (${WHOLE_MINUTES.map((m) => m * 60).join(', ')})`,
  );
}

/** True for a line this agent wrote (its marker is the last thing on the line). */
export function isAgentLine(line: string): boolean {
  return line.trimEnd().endsWith(' ' + LINE_MARKER);
}

/**
 * The guard line's test (then `||` the runner's command): the runner lock (a symlink whose target is its owner record,
 * lib/runtime/lock.ts) names a live process, and, where /proc has it, no zombie (a killed runner crond has not reaped
 * yet) and one with the start time recorded: a forged or stale lock (`pid=1`, a pid reused by another process) starts
 * a runner, which judges the lock itself. Without /proc
 * (ESXi) a live pid is trusted here, and the runner cron starts every minute takes over a lock past its bound.
 * Shell builtins but for readlink (`set -f`: a forged target's `*` is no glob): a check starts 2 processes fewer than
 * with sed and cut under busybox crond's ash (bench-footprint: 94 -> 74 a minute in all, issue 32), 4 under dash. No
 * `#` anywhere: busybox crond ends a
 * crontab line at its first `#` (miscutils/crond.c reads it with config_read's comment character), so `${1#pid=}` or
 * `$#` would cut the guard short. The record splits at `=` and spaces; in /proc/<pid>/stat the state is the first
 * field after the one ending in `)` (the command name), the start time the 20th.
 */
export function guardCheck(lock: string): string {
  return (
    `set -f; IFS='= '; set -- $(readlink ${lock} 2>/dev/null); unset IFS; ` +
    `case "$1 $2 $3" in "pid "[1-9]*" start") p=$2 t=$4;; *) p=;; esac; ` +
    `[ -n "$p" ] && kill -0 "$p" 2>/dev/null && { [ ! -r /proc/$p/stat ] || { read -r x < /proc/$p/stat; set -- $x; ` +
    `while [ -n "$1" ]; do case "$1" in *")") shift; break;; esac; shift; done; ` +
    `case "$1 \${20}" in [ZX]*) false;; *" $t") true;; *) false;; esac; }; } ||`
  );
}

/** A path safe to write into a shell line unquoted (checked, never quoted: a guard line must stay simple). */
function plainPath(what: string, p: string): string {
  if (!/^\/[A-Za-z0-9_@+=:,./-]+$/.test(p)) throw new UsageError(`${what} "${p}" must be an absolute path of plain characters for the cron line`);
  return p;
}

/**
 * The cron lines for a cadence, each ending with the marker. `command` runs the agent (for the long-lived mode it
 * already holds `loop --every`); `user` is the sixth field of /etc/cron.d files (root crontabs have none);
 * `runnerLock` is the runner's lock file, whose pid the guard line checks.
 */
export function cronLines(everySec: number, command: string, opts: { user?: string; runnerLock: string }): string[] {
  if (command.trim() === '') throw new MissingValueError('the cron command line');
  // cron (Vixie, cronie) turns % into a newline; a newline would end the line early.
  if (/[%\n\r\0]/.test(command)) {
    throw new UsageError(`cron command line "${command}" contains %, a newline or NUL: move the files to paths without them`);
  }
  const cadence = cadenceFor(everySec);
  const who = opts.user === undefined ? '' : `${opts.user} `;
  if (cadence.mode === 'pass') return [`${cadence.minuteField} * * * * ${who}${command} ${LINE_MARKER}`];
  const lock = plainPath('the runner lock', opts.runnerLock);
  return [
    `*/2 * * * * ${who}${command} ${LINE_MARKER}`,
    `1-59/2 * * * * ${who}${command} ${LINE_MARKER}`,
    `* * * * * ${who}${guardLoop(cadence.guards, guardCommand(lock, command))} ${LINE_MARKER}`,
  ];
}

/** One check of the guard: start the runner unless the runner lock names a live one (guardCheck). */
export function guardCommand(lock: string, command: string): string {
  return `${guardCheck(lock)} ${command}`;
}

/**
 * The guard line's command: in a background subshell (crond's job ends at once), every GUARD_EVERY_SEC a check, each
 * in the background too (a runner it starts does not delay the next check). Offsets `at` are the checks' seconds.
 */
function guardLoop(at: number[], check: string): string {
  return `(for s in ${at.join(' ')}; do sleep ${GUARD_EVERY_SEC}; ${check} & done) >/dev/null 2>&1 &`;
}

/** The one check inside a guard line of ours (its command after `do sleep N; `), or null for another line. */
export function guardCommandOf(line: string): string | null {
  const m = /; do sleep \d+; (.*) & done\) >\/dev\/null 2>&1 &/.exec(line);
  return m ? m[1]! : null;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// cron ignores a last line without a newline, so every text we produce ends with one.
function joinLines(lines: string[]): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** Crontab text with our lines replaced by `lines` (where the first of ours stood, else at the end); others kept. */
export function withAgentLines(text: string, lines: string[]): string {
  const before = splitLines(text);
  const at = before.findIndex(isAgentLine);
  const kept = before.filter((l) => !isAgentLine(l));
  const insertAt = at === -1 ? kept.length : before.slice(0, at).filter((l) => !isAgentLine(l)).length;
  return joinLines([...kept.slice(0, insertAt), ...lines, ...kept.slice(insertAt)]);
}

/** Crontab text without our lines; every other line kept as it was. */
export function withoutAgentLines(text: string): string {
  const lines = splitLines(text);
  return lines.some(isAgentLine) ? joinLines(lines.filter((l) => !isAgentLine(l))) : text;
}

/** How many of our lines a crontab text holds. */
export function countAgentLines(text: string): number {
  return splitLines(text).filter(isAgentLine).length;
}

/** What the boot block needs: paths as the booted host sees them (never under --root). */
export interface BootBlockSpec {
  crontabPath: string;
  crondPidFile: string;
  crondStart: string;
  lines: string[];
}

/**
 * The local.sh block: drop stale agent lines, append ours, restart crond (ESXi rebuilds the root crontab from its image
 * at every boot, so without this the agent would stop running after a reboot).
 */
export function bootBlock(spec: BootBlockSpec): string[] {
  for (const [what, v] of Object.entries({ crontabPath: spec.crontabPath, crondPidFile: spec.crondPidFile })) {
    if (!v.startsWith('/') || /['\s]/.test(v)) throw new MissingValueError(`the boot block (${what} "${v}")`);
  }
  if (spec.lines.length === 0) throw new MissingValueError('the boot block (no cron lines)');
  const eof = 'REROUTE_AGENT_EOF';
  return [
    BLOCK_BEGIN,
    `/bin/sed -i '/ ${LINE_MARKER}$/d' ${spec.crontabPath}`,
    `/bin/cat >> ${spec.crontabPath} <<'${eof}'`,
    ...spec.lines,
    eof,
    `/bin/kill $(/bin/cat ${spec.crondPidFile} 2>/dev/null) 2>/dev/null`,
    spec.crondStart,
    BLOCK_END,
  ];
}

interface BlockSpan {
  begin: number;
  end: number;
}

function findBlock(lines: string[], file: string): BlockSpan | null {
  const begin = lines.findIndex((l) => l.trimEnd() === BLOCK_BEGIN);
  const end = lines.findIndex((l) => l.trimEnd() === BLOCK_END);
  if (begin === -1 && end === -1) return null;
  if (begin === -1 || end === -1 || end < begin) {
    const line = (begin === -1 ? end : begin) + 1;
    throw new ConfigError(
      [`the reroute block at line ${line} has no matching ${begin === -1 ? 'begin' : 'end'} marker: remove the reroute lines by hand, then rerun`],
      file,
    );
  }
  const again = lines.slice(end + 1).findIndex((l) => l.trimEnd() === BLOCK_BEGIN);
  if (again !== -1) {
    throw new ConfigError([`two reroute blocks (lines ${begin + 1} and ${end + 2 + again}): remove one by hand, then rerun`], file);
  }
  return { begin, end };
}

/**
 * Boot script with our block replaced by `block`, placed before the script's closing top-level `exit 0`
 * (ESXi's local.sh ends with one: lines after it never run). Everything else is kept.
 */
export function withBootBlock(script: string, block: string[], file: string): string {
  const lines = splitLines(withoutBootBlock(script, file));
  let exitAt = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^exit 0\s*$/.test(lines[i]!)) {
      exitAt = i;
      break;
    }
  }
  if (exitAt === -1) return joinLines([...lines, ...block]);
  return joinLines([...lines.slice(0, exitAt), ...block, ...lines.slice(exitAt)]);
}

/** Boot script without our block; unchanged (same string) when it holds none. */
export function withoutBootBlock(script: string, file: string): string {
  const lines = splitLines(script);
  const span = findBlock(lines, file);
  if (!span) return script;
  return joinLines([...lines.slice(0, span.begin), ...lines.slice(span.end + 1)]);
}

/** Whether a boot script holds our block. */
export function hasBootBlock(script: string, file: string): boolean {
  return findBlock(splitLines(script), file) !== null;
}
