// commander wiring. Each command's module is loaded only when that command runs: start-up cost is paid every pass.
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../build-info';
import { UsageError } from '../errors';
import { tuneV8ForShortRun } from '../runtime/v8-flags';
import { writeErr, writeOut } from '../runtime/stdio';
import { exitWith, exitWithError, installCrashHandlers } from './exit';
import { processDisplay, type BootHooks, type CommandEnv, type GlobalOptions } from './context';
import { parseSeconds } from './seconds';

const EXIT_CODES_HELP = `
Exit codes:
  0  pass done (or command done)
  1  pass failed (a step failed or the pass ran past its deadline); doctor: a check failed
  2  usage or config error (nothing was changed)
  3  another pass holds the lock (this run did nothing)

Config: --config <file>, else $REROUTE_CONFIG, else /scratch/reroute/config.json on ESXi,
/etc/reroute/config.json on XenServer and Linux (keys: docs/config.md).`;

function envFor(program: Command, boot: BootHooks | undefined): CommandEnv {
  const o = program.opts<{ config?: string; dryRun?: boolean; verbose?: boolean }>();
  const globals: GlobalOptions = { config: o.config, dryRun: o.dryRun === true, verbose: o.verbose === true };
  return { globals, display: processDisplay, ...(boot ? { boot } : {}) };
}

/** Build the program; `run` receives the exit code of the command. */
export function buildProgram(run: (code: Promise<number>) => void, boot?: BootHooks): Command {
  const program = new Command('reroute');
  program
    .description('I/O-reroute agent: keeps the NFS datastore route on a healthy storage controller VM')
    .option('--config <file>', 'config file (also $REROUTE_CONFIG)')
    .option('--dry-run', 'decide and log, change nothing (no route, no API write, no state)')
    .option('--verbose', 'debug log lines, echoed to stderr')
    .version(VERSION, '-V, --version', 'print the version (as `reroute version` does)')
    .addHelpText('after', EXIT_CODES_HELP)
    // Commander's own errors are printed by the one exit path (one prefix, --json), not here.
    .configureOutput({ writeOut, writeErr, outputError: () => undefined })
    .helpCommand(false)
    .exitOverride();

  program
    .command('help')
    .description('show help for a command, or a topic of the runbook (what to do when a host lost its datastore, ...)')
    .argument('[command|topic]', 'a command, or a runbook topic; without one, both are listed')
    .action((name: string | undefined) => run(import('./commands/help').then((m) => m.run(program, name, envFor(program, boot)))));

  program
    .command('loop')
    .description('one automatic pass: observe, decide, act, heartbeat, save; with --every, a pass every cadence for a minute (what cron runs)')
    .option('--every <seconds>', 'long-lived mode: a pass every this many seconds (0.25 to 59) until the next minute\'s process takes over')
    .option('--for <seconds>', 'with --every: run this long instead')
    .action((opts: { every?: string; for?: string }) =>
      run(import('./commands/loop').then((m) => m.run(opts, envFor(program, boot)))),
    );

  program
    .command('route')
    .description('ROUTE mode: pin the NFS route to a target now (--target), or hand control back to LOOP (--auto)')
    .option('--target <ip>', 'data IP of the SCVM to route to')
    .option('--for <duration>', 'pin only for this long (e.g. 30m, 2h); default until --auto')
    .option('--force', 'accept a target that is not a known SCVM or does not answer ICMP now')
    .option('--auto', 'remove the pin; the next loop pass decides')
    .option('--reason <text>', 'why (one line): kept with the pin, shown by status and sent with the heartbeat')
    .action((opts: { target?: string; for?: string; force?: boolean; auto?: boolean; reason?: string }) =>
      run(import('./commands/route').then((m) => m.run(opts, envFor(program, boot)))),
    );

  program
    .command('status')
    .description('headline (OK, REROUTED, PINNED, STALE...), runner, route, pin, last decisions with their reasons, paths in use')
    .option('--json', 'machine-readable output (with "schema"; missing values are null)')
    .option('--check', 'one line and a monitoring-plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .action((opts: { json?: boolean; check?: boolean }) =>
      run(import('./commands/status').then((m) => m.run({ json: opts.json === true, check: opts.check === true }, envFor(program, boot)))),
    );

  program
    .command('version')
    .description('print the version (only the version and a newline, for the patch tooling)')
    .option('--json', 'add node version, platform and build time')
    .action((opts: { json?: boolean }) =>
      run(import('./commands/version').then((m) => m.run({ json: opts.json === true }, envFor(program, boot)))),
    );

  program
    .command('probe')
    .description('ICMP-probe the given IPs (default: every known SCVM data IP) as the agent does, and print a table')
    .argument('[ip...]', 'IPv4 addresses')
    .option('--json', 'machine-readable output')
    .action((ips: string[], opts: { json?: boolean }) =>
      run(import('./commands/probe').then((m) => m.run({ ips, json: opts.json === true }, envFor(program, boot)))),
    );

  program
    .command('simulate')
    .description('replay a scripted timeline through the decision engine with a virtual clock')
    .argument('<timeline.json>', 'timeline file (see docs/decision.md)')
    .option('--json', 'machine-readable output')
    .option('--svg <file>', 'also draw the run as the timeline picture (as `reroute timeline` does) into this file')
    .action((file: string, opts: { json?: boolean; svg?: string }) =>
      run(import('./commands/simulate').then((m) => m.run({ file, json: opts.json === true, svg: opts.svg }, envFor(program, boot)))),
    );

  program
    .command('timeline')
    .description('draw what happened as one SVG: a lane per SCVM (ICMP, session), the route\'s target, switches and pins with their reasons')
    .option('--since <duration>', 'how far back (e.g. 30m, 2h, 1d)', '2h')
    .option('--out <file>', 'write the SVG to this file (default: stdout)')
    .action((opts: { since: string; out?: string }) =>
      run(import('./commands/timeline').then((m) => m.run(opts, envFor(program, boot)))),
    );

  program
    .command('install')
    .description('install the cron entries that run the agent (default: a pass a second, one process a minute), and the boot hook on ESXi')
    .addOption(new Option('--every <seconds>', 'cadence: 0.25 to 59 s (long-lived mode), or whole minutes dividing an hour').argParser((v) => parseSeconds('--every', v)))
    .option('--root <dir>', 'treat every path as relative to this directory')
    .addOption(new Option('--platform <name>', 'force the platform').choices(['esxi', 'xen', 'linux']))
    .option('--node <path>', 'node executable written into cron (default: this one)')
    .option('--entry <path>', 'agent entry written into cron (default: this one)')
    .option('--replace-old-agent', "comment out the old Python agent's cron lines and boot hooks (else install refuses)")
    .action((opts: { every?: number; root?: string; platform?: string; node?: string; entry?: string; replaceOldAgent?: boolean }) =>
      run(import('./commands/install').then((m) => m.run(opts, envFor(program, boot)))),
    );

  program
    .command('uninstall')
    .description('remove exactly the cron entries and boot hook that install wrote')
    .option('--root <dir>', 'treat every path as relative to this directory')
    .addOption(new Option('--platform <name>', 'force the platform').choices(['esxi', 'xen', 'linux']))
    .option('--restore-old-agent', "put back the old Python agent's lines that install --replace-old-agent commented out")
    .action((opts: { root?: string; platform?: string; restoreOldAgent?: boolean }) =>
      run(import('./commands/uninstall').then((m) => m.run(opts, envFor(program, boot)))),
    );

  program
    .command('config')
    .description('check the config file before the agent reads it')
    .command('check')
    .description('check a config file as the agent does at start: exit 0 and what it holds, or exit 2 naming the key and the fix')
    .argument('[file]', 'the config file (default: --config, $REROUTE_CONFIG, else the platform\'s default)')
    .action((file: string | undefined) => run(import('./commands/config-check').then((m) => m.run({ file }, envFor(program, boot)))));

  program
    .command('doctor')
    .description('check this host for the agent, one line per check (ok, warn or FAIL, with the fix); exit 1 on any FAIL')
    .option('--json', 'machine-readable output')
    .option('--root <dir>', 'read the cron and boot files (and platform markers) inside this directory, as install does')
    .action((opts: { json?: boolean; root?: string }) =>
      run(import('./commands/doctor').then((m) => m.run({ json: opts.json === true, root: opts.root }, envFor(program, boot)))),
    );

  return program;
}

/** A commander rejection as our usage error: one line, with the hint where to look. */
function usageErrorFrom(e: CommanderError): UsageError {
  const text = e.message.replace(/^error: /, '').split('\n')[0]!;
  return new UsageError(`${text} (run reroute --help for usage)`);
}


/** Entry: parse argv, run one command, exit through the one exit path. */
export async function main(argv: string[], boot?: BootHooks): Promise<void> {
  tuneV8ForShortRun();
  installCrashHandlers();
  let pending: Promise<number> | null = null;
  const program = buildProgram((p) => {
    pending = p;
  }, boot);
  // Errors of a command given --json are one JSON object on stderr; known before parsing, which may itself fail.
  const errors = { json: argv.slice(2).includes('--json') };
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help asked for (--help, `help`) and --version exit 0; help shown for want of a command (bare `reroute`) is a
      // usage error: exit 2, the help already on stderr.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return exitWith(e.exitCode === 0 ? 0 : 2);
      if (e.code === 'commander.version') return exitWith(0);
      return exitWithError(usageErrorFrom(e), errors);
    }
    return exitWithError(e, errors);
  }
  if (pending === null) {
    program.outputHelp({ error: true });
    return exitWith(2);
  }
  try {
    return exitWith(await (pending as Promise<number>));
  } catch (e) {
    return exitWithError(e, errors);
  }
}

if (require.main === module) {
  void main(process.argv);
}

export { VERSION };
