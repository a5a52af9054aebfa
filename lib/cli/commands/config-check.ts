// `reroute config check [file]`: the checks the agent makes of its config at start, and nothing else: exit 0 with
// one line saying what the file holds, or exit 2 with one line naming the key and the fix (the one exit path prints
// it). Run it after every edit: an invalid config makes the next minute's runner exit, and the host has no failover.
import { resolve } from 'node:path';
import { configPath, loadConfig } from '../../config/load';
import type { CommandEnv } from '../context';

export async function run(opts: { file?: string }, env: CommandEnv): Promise<number> {
  const path = resolve(opts.file ?? configPath(env.globals.config));
  const { config, credentials } = loadConfig(path);
  const others = config.scvms.filter((s) => s.dataIp !== config.local.dataIp).length;
  const login = credentials ? `API login as ${credentials.username}` : 'no API login configured';
  env.display.out(
    `config ${path}: ok (platform ${config.platform}, local SCVM ${config.local.dataIp}, ${others} other SCVMs, ${login}; ` +
      `state ${config.paths.state}, log ${config.paths.log})`,
  );
  return 0;
}
