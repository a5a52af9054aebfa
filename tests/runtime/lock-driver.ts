// Child process for lock tests: take the pass lock, say so, hold it, report a lost lock the way a pass would.
import { acquirePassLock } from '../../lib/runtime/lock';
import { silentLog } from '../../lib/runtime/log';
import { RerouteError } from '../../lib/errors';

async function main(): Promise<void> {
  const [lockPath, holdMs] = process.argv.slice(2);
  try {
    const lock = await acquirePassLock(lockPath!, 3000, silentLog);
    process.stdout.write('locked\n');
    const until = Date.now() + Number(holdMs);
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        lock.assertHeld();
      } catch (e) {
        process.stdout.write(`${(e as RerouteError).code}\n`);
        process.exit(4);
      }
    }
    await lock.release();
    process.stdout.write('released\n');
    process.exit(0);
  } catch (e) {
    process.stdout.write(`${(e as RerouteError).code ?? (e as Error).message}\n`);
    process.exit(3);
  }
}
void main();
