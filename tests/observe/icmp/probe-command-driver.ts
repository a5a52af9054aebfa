// Child-process driver for `reroute probe`: runs the command inside a namespace with a capturing display and prints
// one JSON line {code, out, err} (or {error}). Input: argv[2] = JSON {ips, json, config}.
import { run } from '../../../lib/cli/commands/probe';
import { RerouteError } from '../../../lib/errors';

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '') as { ips: string[]; json: boolean; config: string };
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(
    { ips: input.ips, json: input.json },
    {
      globals: { config: input.config, dryRun: false, verbose: false },
      display: { out: (l) => out.push(l), err: (l) => err.push(l) },
    },
  );
  process.stdout.write(JSON.stringify({ code, out, err }) + '\n');
}

main().catch((e: unknown) => {
  const code = e instanceof RerouteError ? e.code : 'UNEXPECTED';
  process.stdout.write(JSON.stringify({ error: { code, message: (e as Error).message } }) + '\n');
  process.exitCode = 2;
});
