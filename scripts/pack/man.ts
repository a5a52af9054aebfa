// scripts/build-man: the manual pages reroute(8) and reroute-config(5) and a bash completion, generated from the CLI's
// own definition (lib/cli/main.ts), the config schema (lib/config/doc.ts) and the runbook (docs/operations.md), so
// none of them can fall behind the code. The RPM installs them where dom0's man and bash look; the VIB carries them
// under /opt/reroute/share (ESXi has neither man nor bash completion: there `reroute help` is the manual).
//   scripts/build-man [--out dist/share]      writes man/man8/reroute.8, man/man5/reroute-config.5,
//                                             bash-completion/completions/reroute
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../lib/cli/main';
import { parseTopics, type Topic } from '../../lib/cli/help/runbook';
import { configRows, type Row } from '../../lib/config/doc';
import { PackError, ROOT, packageVersion, scriptMain } from './common';

/** Where scripts/build-man writes, and where the bundle takes the files from. */
export const DEFAULT_SHARE_DIR = join(ROOT, 'dist', 'share');
export const MAN8 = 'man/man8/reroute.8';
export const MAN5 = 'man/man5/reroute-config.5';
export const COMPLETION = 'bash-completion/completions/reroute';

const escape = (text: string) => text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
/** A line never starts with a control character. */
const safeLines = (text: string) => text.split('\n').map((l) => (/^[.']/.test(l) ? `\\&${l}` : l)).join('\n');

/** Text safe in roff: backslashes and hyphens escaped, a line never starting with a control character. */
export function roff(text: string): string {
  return safeLines(escape(text));
}

/** Markdown's `code` as bold, the rest escaped. */
function inline(text: string): string {
  return safeLines(
    text
      .split(/(`[^`]*`)/)
      .map((part) => (part.startsWith('`') && part.endsWith('`') ? `\\fB${escape(part.slice(1, -1))}\\fR` : escape(part)))
      .join(''),
  );
}

function usageOf(cmd: Command, parent = ''): string {
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
  return [...(parent ? [parent] : []), cmd.name(), ...args].join(' ');
}

/** Every command the program runs, a group's subcommands (`config check`) by their full name. */
function leafCommands(program: Command): { usage: string; cmd: Command }[] {
  return program.commands.flatMap((c) =>
    c.commands.length > 0 ? c.commands.map((sub) => ({ usage: usageOf(sub, c.name()), cmd: sub })) : [{ usage: usageOf(c), cmd: c }],
  );
}

function visibleOptions(cmd: Command): Option[] {
  return cmd.options.filter((o) => !o.hidden);
}

function optionItems(options: Option[]): string[] {
  return options.flatMap((o) => ['.TP', `.B ${roff(o.flags)}`, inline(o.description + (o.argChoices ? ` (one of ${o.argChoices.join(', ')})` : ''))]);
}

function header(title: string, section: number, date: string): string[] {
  return [`.TH ${title} ${section} "${date}" "reroute ${roff(packageVersion())}" "reroute"`];
}

/** reroute(8): every command with its arguments and options, the global options, exit codes, files, runbook topics. */
export function manPage(program: Command, topics: Topic[], date: string): string {
  const lines = [
    ...header('REROUTE', 8, date),
    '.SH NAME',
    `reroute \\- ${roff(program.description())}`,
    '.SH SYNOPSIS',
    '.B reroute',
    `[${visibleOptions(program).map((o) => `\\fB${roff(o.flags)}\\fR`).join("] [")}]`,
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    roff(
      'reroute runs on every ESXi or XenServer host of a hyperconverged cluster. The host reaches its NFS datastore ' +
        'through one static /32 route whose next hop is the local storage controller VM (SCVM). When the local SCVM ' +
        'fails, reroute moves that route to a healthy remote SCVM within seconds; when the local SCVM has been stable ' +
        'again for long enough, it moves it back. cron runs it: one long-lived process a minute makes a pass every second.',
    ),
    '.SH COMMANDS',
    ...leafCommands(program).flatMap(({ usage, cmd }) => [
      '.TP',
      `.B ${roff(usage)}`,
      inline(cmd.description()),
      ...(visibleOptions(cmd).length ? ['.RS', ...optionItems(visibleOptions(cmd)), '.RE'] : []),
    ]),
    '.SH GLOBAL OPTIONS',
    ...optionItems(visibleOptions(program)),
    '.SH EXIT STATUS',
    ...[
      ['0', 'pass done (or command done)'],
      ['1', 'pass failed (a step failed or the pass ran past its deadline); doctor: a check failed'],
      ['2', 'usage or config error; nothing was changed'],
      ['3', 'another pass holds the lock; this run did nothing'],
    ].flatMap(([code, what]) => ['.TP', `.B ${code}`, roff(what!)]),
    '.SH FILES',
    ...[
      ['/scratch/reroute/config.json', 'the config on ESXi (reroute-config(5)); /etc/reroute/config.json on XenServer and Linux'],
      ['/scratch/reroute/state.json', 'what must survive a reboot, on ESXi; /var/lib/reroute/state.json on XenServer and Linux'],
      ['/var/run/reroute/', 'the record of recent passes and the locks (RAM)'],
      ['/scratch/log/scvm_failure.log', 'the log on ESXi, linked from /var/log/scvm_failure.log; /var/log/scvm_failure.log on XenServer and Linux'],
    ].flatMap(([file, what]) => ['.TP', `.I ${roff(file!)}`, roff(what!)]),
    '.SH RUNBOOK',
    roff('reroute help <topic> prints one of these sections of the runbook:'),
    ...topics.flatMap((t) => ['.TP', `.B ${roff(t.name)}`, inline(t.title)]),
    '.SH SEE ALSO',
    '.BR reroute\\-config (5)',
  ];
  return lines.join('\n') + '\n';
}

/** reroute-config(5): every key of the config with its type, default and meaning. */
export function configManPage(rows: Row[], date: string): string {
  const lines = [
    ...header('REROUTE-CONFIG', 5, date),
    '.SH NAME',
    'reroute\\-config \\- the configuration file of reroute(8)',
    '.SH DESCRIPTION',
    roff(
      'One JSON object. Every key is checked when the agent starts: an unknown key, a wrong type or an impossible value ' +
        'ends the run with exit 2 and one line naming the key. The file must not be writable by group or others.',
    ),
    '.SH KEYS',
    ...rows.flatMap((r) => ['.TP', `.B ${roff(r.key)}`, inline(`${r.type}; default ${r.def.replace(/\*\*/g, '')}. ${r.description}`)]),
    '.SH SEE ALSO',
    '.BR reroute (8)',
  ];
  return lines.join('\n') + '\n';
}

/** A bash completion: the commands and help topics after `reroute`, each command's options after it. */
export function bashCompletion(program: Command, topics: Topic[]): string {
  const longs = (c: Command) => visibleOptions(c).map((o) => o.long).filter((l): l is string => l !== undefined);
  const cases = program.commands.map((c) => {
    const words =
      c.name() === 'help'
        ? [...program.commands.map((x) => x.name()), ...topics.map((t) => t.name)]
        : c.commands.length > 0
          ? c.commands.map((x) => x.name())
          : [...longs(c), '--help'];
    return `    ${c.name()}) words="${words.join(' ')}" ;;`;
  });
  return `# bash completion for reroute (generated by scripts/build-man from the CLI; do not edit)
_reroute() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd= i words
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --config) ((i++)) ;;
      -*) ;;
      *) cmd=\${COMP_WORDS[i]}; break ;;
    esac
  done
  case $cmd in
    '') words="${[...program.commands.map((c) => c.name()), ...longs(program)].join(' ')}" ;;
${cases.join('\n')}
    *) words= ;;
  esac
  if [ "\${COMP_WORDS[COMP_CWORD-1]}" = --config ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _reroute reroute
`;
}

/** The three files, by their path under the share directory. */
export function shareFiles(date: string): Map<string, string> {
  const program = buildProgram(() => undefined);
  const topics = parseTopics(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8'));
  if (topics.length === 0) throw new PackError('docs/operations.md has no <!-- topic: name --> sections');
  return new Map([
    [MAN8, manPage(program, topics, date)],
    [MAN5, configManPage(configRows(), date)],
    [COMPLETION, bashCompletion(program, topics)],
  ]);
}

/** The pages' date: SOURCE_DATE_EPOCH's (a reproducible build), else today. */
function pageDate(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !/^\d+$/.test(epoch)) throw new PackError(`SOURCE_DATE_EPOCH "${epoch}" is not a number of seconds`);
  return new Date(epoch === undefined ? Date.now() : Number(epoch) * 1000).toISOString().slice(0, 10);
}

/** Entry of scripts/build-man. */
export function manMain(argv: string[]): Promise<number> {
  return scriptMain('build-man', () => {
    let out = DEFAULT_SHARE_DIR;
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--out' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) out = resolve(argv[++i]!);
      else throw new PackError(`unknown option ${argv[i]}: use --out <dir>`);
    }
    for (const [rel, text] of shareFiles(pageDate())) {
      mkdirSync(dirname(join(out, rel)), { recursive: true });
      writeFileSync(join(out, rel), text, { mode: 0o644 });
      process.stdout.write(`wrote ${join(out, rel)}\n`);
    }
  });
}
