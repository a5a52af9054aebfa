// The cron lines `reroute install` writes for the long-lived mode, spelled out for tests that check a crontab: a
// runner at the top of each minute (two lines, even and odd minutes: busybox crond skips a line whose last run still
// runs) and a guard line whose job ends at once: a background loop that every 5 s starts one only when the runner lock names no live
// process that took it (its start time, where /proc has it). (lib/install/crontab.ts makes them; tests/install/crontab.test.ts runs a guard through /bin/sh.)
const MARKER = '# reroute-agent';

export function runnerLines(command: string, opts: { user?: string; lock?: string } = {}): string[] {
  const user = opts.user ? `${opts.user} ` : '';
  const lock = opts.lock ?? '/var/run/reroute/runner.lock';
  const guard =
    `set -f; IFS='= '; set -- $(readlink ${lock} 2>/dev/null); unset IFS; case "$1 $2 $3" in "pid "[1-9]*" start") p=$2 t=$4;; *) p=;; esac; ` +
    `[ -n "$p" ] && kill -0 "$p" 2>/dev/null && { [ ! -r /proc/$p/stat ] || { read -r x < /proc/$p/stat; set -- $x; while [ -n "$1" ]; do case "$1" in *")") shift; break;; esac; shift; done; case "$1 \${20}" in [ZX]*) false;; *" $t") true;; *) false;; esac; }; } ||`;
  return [
    `*/2 * * * * ${user}${command} ${MARKER}`,
    `1-59/2 * * * * ${user}${command} ${MARKER}`,
    `* * * * * ${user}(for s in 5 10 15 20 25 30 35 40 45 50 55; do sleep 5; ${guard} ${command} & done) >/dev/null 2>&1 & ${MARKER}`,
  ];
}
