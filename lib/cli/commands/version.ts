// `reroute version`: only the version and a newline, which the patch tooling compares (update_reroute_version).
import { BUILD_TIME, VERSION } from '../../build-info';
import type { CommandEnv } from '../context';

/** Print the version; --json adds node version, platform and build time. */
export async function run(opts: { json: boolean }, env: CommandEnv): Promise<number> {
  if (!opts.json) {
    env.display.out(VERSION);
    return 0;
  }
  env.display.out(
    JSON.stringify({ version: VERSION, node: process.version, platform: `${process.platform}-${process.arch}`, buildTime: BUILD_TIME }),
  );
  return 0;
}
