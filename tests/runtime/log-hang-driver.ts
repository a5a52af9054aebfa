// Child-process driver for the log's hung-disk test: writes a line to the log file given in argv[2], says "ready",
// and after a line on stdin (the test has stalled that file system meanwhile) queues another line, which hangs, and
// starts a command, as a pass would its `ip route`. Prints "ran <ms>" once the command has ended. A process that
// holds a descriptor on the hung file system never prints it: its main thread waits in libuv for the command's exec.
import { createInterface } from 'node:readline';
import { LogFile } from '../../lib/runtime/log-file';
import { killAllChildren, run } from '../../lib/runtime/exec';

const log = new LogFile({ file: process.argv[2]!, maxBytes: 1 << 20, maxFiles: 2 });
log.append('first\n');
void log.flush().then(() => {
  process.stdout.write('ready\n');
  createInterface({ input: process.stdin }).once('line', () => {
    log.append('second\n');
    setTimeout(() => {
      const t = Date.now();
      void run(['true'], { timeoutMs: 5000 }).then(() => {
        process.stdout.write(`ran ${Date.now() - t}\n`);
        killAllChildren();
      });
    }, 200);
  });
});
