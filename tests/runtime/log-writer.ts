// Child process for the shared-log test: writes N lines to one log with a small rotation size, as an agent process
// would. argv: <log file> <writer number> <lines>
import { openLog } from '../../lib/runtime/logger';

async function main(): Promise<void> {
  const [file, writer, count] = process.argv.slice(2);
  const log = openLog({ file: file!, link: null, level: 'info', maxBytes: 8192, maxFiles: 100, echo: false });
  for (let i = 0; i < Number(count); i++) {
    log.info(`writer ${writer} line ${i} ${'x'.repeat(60)}`);
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  await log.flush();
}
void main();
