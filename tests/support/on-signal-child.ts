// For on-signal.test.ts: registers two undos (the second forgotten again), says "ready", then waits to be stopped.
import { appendFileSync } from 'node:fs';
import { undoOnSignal } from './on-signal';

const file = process.argv[2]!;
undoOnSignal(() => appendFileSync(file, 'first\n'));
undoOnSignal(() => appendFileSync(file, 'second\n'));
const forget = undoOnSignal(() => appendFileSync(file, 'forgotten\n'));
forget();
process.stdout.write('ready\n');
setInterval(() => undefined, 1000);
