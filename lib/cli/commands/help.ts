// `reroute help [command | topic]`: a command's usage, or a section of the runbook (docs/operations.md); the list of
// both without an argument. Help is on stdout and exits 0; an unknown name is a usage error (exit 2).
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { runbookTopics } from '../help/runbook';
import type { CommandEnv } from '../context';

export function run(program: Command, name: string | undefined, env: CommandEnv): number {
  const topics = runbookTopics();
  if (name === undefined) {
    program.outputHelp();
    env.display.out('');
    env.display.out('Runbook topics (reroute help <topic>):');
    const width = Math.max(...topics.map((t) => t.name.length));
    for (const t of topics) env.display.out(`  ${t.name.padEnd(width)}  ${t.title}`);
    return 0;
  }
  const cmd = program.commands.find((c) => c.name() === name);
  if (cmd) {
    cmd.outputHelp();
    return 0;
  }
  const topic = topics.find((t) => t.name === name);
  if (!topic) {
    throw new UsageError(`unknown help topic '${name}': use a command or one of ${topics.map((t) => t.name).join(', ')} (reroute help lists them)`);
  }
  env.display.out(topic.text);
  return 0;
}
