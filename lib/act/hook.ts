// The notify hook (`hooks.onEvent`): an operator's shell line run through /bin/sh -c (on ESXi 8 only VIB-installed
// files execute, so a script of the operator's is a line, not a file), with the event as REROUTE_<KEY>=value
// environment variables, within a timeout (its whole process group killed past it), one at a time (lib/act/deliver.ts).
import { run } from '../runtime/exec';

/** The hook's environment: the event's fields as REROUTE_<KEY> (camelCase keys as SNAKE_CASE), and a PATH. */
export function hookEnv(fields: [string, string][], path = process.env.PATH): Record<string, string> {
  const env: Record<string, string> = { PATH: path || '/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const [k, v] of fields) env[`REROUTE_${k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`] = v;
  return env;
}

/** Run the hook for one event. Throws when it cannot start, exits non-zero, or runs past `timeoutMs`. */
export async function runHook(line: string, fields: [string, string][], timeoutMs: number): Promise<void> {
  const r = await run(['/bin/sh', '-c', line], { timeoutMs, env: hookEnv(fields), maxOutputBytes: 4096 });
  if (r.status !== 0) throw new Error(`exited ${r.status ?? r.signal}${r.stderr.trim() ? `: ${r.stderr.trim().slice(0, 200)}` : ''}`);
}
