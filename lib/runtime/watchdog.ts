// A watchdog that does not depend on the event loop: a small /bin/sh beside the agent that kills it when one pass
// stays in progress past its deadline and grace. The pass's own deadline (deadline.ts) runs on the event loop and
// logs what the pass was doing; a synchronous call that never returns (a read from a hung file system) blocks that
// loop, and then only this one is left. Field incident: a stuck agent held its lock and the host had no reroute.
//
// The agent writes the number of each pass into a file on the RAM disk when the pass starts and empties it when the
// pass ends; the shell looks every 2 s and kills the agent when one number stays there too long. A shell, not a worker
// thread: a worker's V8 isolate costs the agent 18 MB of RSS; this costs a `sleep` every 2 s. It exits with the agent.
// After the pass's number the file names the process groups of the commands the pass has running (lib/runtime/exec.ts
// starts each in its own group), and the shell kills them with the agent: a command hung beside a blocked agent would
// otherwise outlive it, an orphan, and one more at every kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { liveChildGroups, watchChildGroups } from './child-groups';

const POLL_SEC = 2;

const SCRIPT = `
p=$1 f=$2 k=$3 log=$4 last= same=0
while kill -0 "$p" 2>/dev/null; do
  sleep ${POLL_SEC}
  n= g=
  [ -r "$f" ] && read -r n g < "$f"
  if [ -n "$n" ] && [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; last=$n; fi
  if [ "$same" -ge "$k" ]; then
    echo "[PID:$p] watchdog: pass $n is still running past its deadline and grace, and the agent did not end it: killing the agent\${g:+ and its commands (process groups $g)}" >> "$log"
    kill -9 "$p"
    for x in $g; do kill -9 -"$x" 2>/dev/null; done
    exit 0
  fi
done
`;

export interface Watchdog {
  /** A pass starts: the agent is killed if it is still running after maxPassMs (to the watchdog's 2 s). */
  passStarts(): void;
  passEnds(): void;
  stop(): void;
}

/** Start the watchdog for this process; `file` is its RAM-disk file, `logFile` gets one line before a kill. */
export function startWatchdog(file: string, logFile: string, maxPassMs: number): Watchdog {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, '');
  const polls = Math.ceil(maxPassMs / 1000 / POLL_SEC) + 1;
  let child: ChildProcess | null = spawn('/bin/sh', ['-c', SCRIPT, 'watchdog', String(process.pid), file, String(polls), logFile], {
    stdio: 'ignore',
  });
  child.unref();
  child.on('error', () => undefined); // no /bin/sh: the event-loop deadline is left
  let pass = 0;
  let running = false;
  const write = (groups: readonly number[]) => writeFileSync(file, [pass, ...groups].join(' ') + '\n');
  watchChildGroups((groups) => {
    if (running) write(groups);
  });
  return {
    passStarts() {
      pass++;
      running = true;
      write(liveChildGroups());
    },
    passEnds() {
      running = false;
      writeFileSync(file, '');
    },
    stop() {
      watchChildGroups(null);
      child?.kill();
      child = null;
    },
  };
}
