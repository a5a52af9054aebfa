// Which system calls the bundle makes, from `strace -f -v -s 256` output: only the calls of processes that run the
// bundle's executable (from their execve of the bundled loader with bin/reroute.real, until they execve anything
// else), with the threads and forks they start. busybox (the launcher's sh, crond, the guards) and the ESXi commands
// are the host's, not the bundle's, and are left out.

/** Whether an execve (its path and the strace text of its arguments) starts the bundle's executable. */
export function startsBundle(path: string, rest: string): boolean {
  return path.endsWith('/ld-linux-x86-64.so.2') && rest.includes('bin/reroute.real"');
}

const LINE = /^(\d+) +(.*)$/;
const RESUMED = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/;
const CALL = /^([a-z0-9_]+)\((.*)$/;
const RESULT = /\) += (-?\d+|0x[0-9a-f]+|\?)(?: [A-Z]+ \(.*\))?(?: <[^>]*>)?$/;
const SPAWNS = new Set(['clone', 'clone3', 'fork', 'vfork']);

/** Calls of the bundle's processes in a trace, with how many times each was made. */
export function bundleCalls(trace: string): Map<string, number> {
  const counting = new Map<number, boolean>();
  const pendingExec = new Map<number, boolean>(); // an execve whose result comes on a later "resumed" line
  const waiting = new Map<number, string[]>(); // lines of a child seen before its parent's clone returned
  const calls = new Map<string, number>();
  let first: number | null = null;

  const handle = (pid: number, rest: string): void => {
    const resumed = RESUMED.exec(rest);
    const call = resumed ? null : CALL.exec(rest);
    if (!resumed && !call) return; // +++ exited +++, --- SIGCHLD ---
    const name = resumed ? resumed[1]! : call![1]!;
    const on = counting.get(pid)!;
    if (call && on) calls.set(name, (calls.get(name) ?? 0) + 1);
    const done = RESULT.exec(rest);
    if (name === 'execve') {
      if (call) {
        const path = /^"([^"]*)"/.exec(call[2]!)?.[1] ?? '';
        pendingExec.set(pid, startsBundle(path, call[2]!));
      }
      if (done && done[1] === '0') counting.set(pid, pendingExec.get(pid) ?? false);
      if (done) pendingExec.delete(pid);
    } else if (SPAWNS.has(name) && done && /^\d+$/.test(done[1]!) && Number(done[1]) > 0) {
      const child = Number(done[1]);
      counting.set(child, on);
      for (const l of waiting.get(child) ?? []) handle(child, l);
      waiting.delete(child);
    }
  };

  for (const line of trace.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    first ??= pid;
    if (!counting.has(pid)) {
      if (pid === first) counting.set(pid, false);
      else {
        waiting.set(pid, [...(waiting.get(pid) ?? []), m[2]!]);
        continue;
      }
    }
    handle(pid, m[2]!);
  }
  return calls;
}
