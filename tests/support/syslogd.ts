// A real syslog daemon for a test, without touching the machine's /dev/log: busybox syslogd and busybox or util-linux
// logger both use /dev/log, fixed. The wrapped command runs in a mount namespace of its own whose /dev is a fresh
// tmpfs holding links to the real devices, with busybox syslogd (-n, -O file) listening on its /dev/log: whatever the
// command starts (crond, its jobs, their `logger`) logs there, and nothing else on the machine sees it.

/** The argv that runs `argv` with a syslogd writing to `file` (an absolute path outside /dev). */
export function withSyslogd(file: string): (argv: string[]) => string[] {
  const script = [
    'set -e',
    'log=$1; shift',
    // beside the log, in the test's own temporary directory (the run removes it; the bind mount is this namespace's)
    'real=$(mktemp -d "$(dirname "$log")/realdev.XXXXXX")',
    'mount --rbind /dev "$real"',
    'mount -t tmpfs -o mode=755 reroute-dev /dev',
    'for f in "$real"/*; do n=${f##*/}; if [ -L "$f" ]; then cp -P "$f" "/dev/$n"; else ln -s "$f" "/dev/$n"; fi; done',
    'busybox syslogd -n -O "$log" &',
    'i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
    '[ -S /dev/log ] || { echo "syslogd did not start" >&2; exit 1; }',
    'exec "$@"',
  ].join('\n');
  return (argv) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', file, ...argv];
}
