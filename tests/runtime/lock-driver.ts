// Child process for lock tests: take the lock, say so, hold it while checking it is still held, release it.
// argv: <lock path> <hold ms> <pass deadline ms>. Prints "locked", then "released" or the error code; exit 0/3/4.
import { acquireLock } from '../../lib/runtime/lock';
import { silentLog } from '../../lib/runtime/log';
import type { RerouteError } from '../../lib/errors';

async function main(): Promise<void> {
  const [lockPath, holdMs, deadlineMs] = process.argv.slice(2);
  let lock;
  try {
    lock = await acquireLock(lockPath!, { holdMs: Number(deadlineMs ?? 60_000), graceMs: 0, log: silentLog });
  } catch (e) {
    process.stdout.write(`${(e as RerouteError).code ?? (e as Error).message}\n`);
    process.exit(3);
  }
  process.stdout.write('locked\n');
  const until = Date.now() + Number(holdMs);
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      await lock.assertHeld();
    } catch (e) {
      process.stdout.write(`${(e as RerouteError).code}\n`);
      process.exit(4);
    }
  }
  await lock.release();
  process.stdout.write('released\n');
}
void main();
