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
//
// The file is written in place at a fixed size (never truncated, never replaced), off the main thread and bounded
// (runtime/files.ts): once it has its page on the RAM disk, a full RAM disk does not stop it, and a file that cannot
// be written is said once and costs only the watchdog (the pass's own deadline remains), never a pass.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { liveChildGroups, watchChildGroups } from './exec';
import { bounded, makeDir, WRITE_MS } from './files';
import type { Log } from './log';

const POLL_SEC = 2;
/** The file's fixed size: the pass's number and the process groups, padded with spaces (which `read` drops). */
const RECORD_BYTES = 256;

// The kill comes before the log line: the log may be on a disk that stopped answering, and so may the pass.
const SCRIPT = `
p=$1 f=$2 k=$3 log=$4 last= same=0
while kill -0 "$p" 2>/dev/null; do
  sleep ${POLL_SEC}
  n= g=
  [ -r "$f" ] && read -r n g < "$f"
  if [ -n "$n" ] && [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; last=$n; fi
  if [ "$same" -ge "$k" ]; then
    kill -9 "$p"
    for x in $g; do kill -9 -"$x" 2>/dev/null; done
    echo "[PID:$p] watchdog: pass $n was still running past its deadline and grace, and the agent did not end it: killed the agent\${g:+ and its commands (process groups $g)}" >> "$log"
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

/** The file's content: `line` padded to RECORD_BYTES, ending in a newline. */
export function watchdogRecord(line: string): Buffer {
  const text = line.length < RECORD_BYTES ? line : line.slice(0, line.lastIndexOf(' ', RECORD_BYTES - 2));
  return Buffer.from(text.padEnd(RECORD_BYTES - 1) + '\n');
}

/** Start the watchdog for this process; `file` is its RAM-disk file, `logFile` gets one line before a kill. */
export function startWatchdog(file: string, logFile: string, maxPassMs: number, log: Log): Watchdog {
  const polls = Math.ceil(maxPassMs / 1000 / POLL_SEC) + 1;
  let child: ChildProcess | null = spawn('/bin/sh', ['-c', SCRIPT, 'watchdog', String(process.pid), file, String(polls), logFile], {
    stdio: 'ignore',
  });
  child.unref();
  child.on('error', () => undefined); // no /bin/sh: the event-loop deadline is left
  let pass = 0;
  let running = false;
  // one write at a time, the latest line wins
  let wanted = '';
  let writing = false;
  let said = false;
  const opened = makeDir(dirname(file), 0o700).then(() =>
    bounded('open', file, WRITE_MS, () => fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)),
  );
  opened.catch(() => undefined);
  const flush = async (): Promise<void> => {
    if (writing) return;
    writing = true;
    try {
      for (let line = wanted; ; line = wanted) {
        const fh = await opened;
        const buf = watchdogRecord(line);
        await bounded('write', file, WRITE_MS, () => fh.write(buf, 0, buf.length, 0));
        if (line === wanted) break;
      }
    } catch (e) {
      if (!said) log.warn(`watchdog: cannot write ${file} (${(e as Error).message}): it cannot see passes now; each pass's own deadline remains`);
      said = true;
    } finally {
      writing = false;
    }
  };
  const write = (line: string) => {
    wanted = line;
    void flush();
  };
  write('');
  watchChildGroups((groups) => {
    if (running) write([pass, ...groups].join(' '));
  });
  return {
    passStarts() {
      pass++;
      running = true;
      write([pass, ...liveChildGroups()].join(' '));
    },
    passEnds() {
      running = false;
      write('');
    },
    stop() {
      watchChildGroups(null);
      child?.kill();
      child = null;
      void opened.then((fh) => fh.close()).catch(() => undefined);
    },
  };
}
