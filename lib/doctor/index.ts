// `reroute doctor`'s checks as data, run together, each within its own deadline, reported in this order.
import { apiCheck } from './api';
import { bootCheck } from './boot';
import { bootbankCheck } from './bootbank';
import { clockCheck } from './clock';
import { configCheck } from './config';
import { cronCheck } from './cron';
import { filesCheck } from './files';
import { icmpCheck } from './icmp';
import { nfsCheck } from './nfs';
import { oldAgentCheck } from './old-agent';
import { persistentCheck } from './persistent';
import { platformCheck } from './platform';
import { routeCheck } from './route';
import { runtimeCheck } from './runtime';
import { fail, type Check, type CheckResult, type DoctorContext } from './types';

export { doctorContext } from './context';
export type { Status } from './types';

export const CHECKS: readonly Check[] = [
  configCheck,
  platformCheck,
  runtimeCheck,
  icmpCheck,
  routeCheck,
  apiCheck,
  cronCheck,
  oldAgentCheck,
  bootCheck,
  persistentCheck,
  bootbankCheck,
  filesCheck,
  nfsCheck,
  clockCheck,
];

/** One line of the report. */
export interface Finding extends CheckResult {
  id: string;
  title: string;
}

/** A check's result within its deadline; a check that throws or runs past it fails, saying so. */
async function within(check: Check, ctx: DoctorContext): Promise<Finding> {
  const ms = check.deadlineMs(ctx);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckResult>((r) => {
    timer = setTimeout(() => r(fail(`did not finish within ${ms} ms`, 'run again with --verbose to see which command or request hangs')), ms);
  });
  const result = await Promise.race([
    check.run(ctx).catch((e: unknown) => fail(`the check itself failed: ${(e as Error).message}`, 'please report it')),
    late,
  ]);
  clearTimeout(timer);
  return { id: check.id, title: check.title, ...result };
}

/** Start every check at once; yield their findings in the order of CHECKS as each is known. */
export async function* runChecks(ctx: DoctorContext, checks: readonly Check[] = CHECKS): AsyncGenerator<Finding> {
  const running = checks.map((c) => within(c, ctx));
  for (const f of running) yield await f;
}
