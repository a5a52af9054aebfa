// Child-process driver for the watchdog test: a process that starts the watchdog, begins a pass, starts a command
// that hangs (lib/runtime/exec.ts, its own process group) and then blocks its event loop for good, as a synchronous
// read from a hung file system would. Prints "hung <pid of the command>" once it blocks. With argv[5] = "ends", the
// pass ends normally instead and the process exits 0 a while later.
import { killAllChildren, run } from '../../lib/runtime/exec';
import { silentLog } from '../../lib/runtime/log';
import { startWatchdog } from '../../lib/runtime/watchdog';

const [file, logFile, maxPassMs, mode] = process.argv.slice(2) as [string, string, string, string | undefined];
const watchdog = startWatchdog(file, logFile, Number(maxPassMs), silentLog);
watchdog.passStarts();
const command = run(['sleep', '300'], { timeoutMs: 600_000 });
command.catch(() => undefined);
setTimeout(() => {
  if (mode === 'ends') {
    watchdog.passEnds();
    setTimeout(() => {
      watchdog.stop();
      killAllChildren();
      process.exit(0);
    }, 3 * Number(maxPassMs) + 4000);
    return;
  }
  const pid = /^\d+ (\d+)$/.exec(require('node:fs').readFileSync(file, 'utf8').trim())?.[1];
  process.stdout.write(`hung ${pid}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000); // the event loop blocked: no timer fires now
}, 300);
