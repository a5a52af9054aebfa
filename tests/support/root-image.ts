// A temp directory standing for a host's root (install/uninstall/doctor --root), and a CommandEnv that records what a
// command prints.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandEnv } from '../../lib/cli/context';

export interface RootImage {
  root: string;
  /** every line the commands printed (stderr lines start with "ERR ") */
  out: string[];
  /** write a file at host path `path` inside the root */
  put(path: string, text: string, mode?: number): void;
  read(path: string): string;
  env(opts?: { dryRun?: boolean; config?: string }): CommandEnv;
  cleanup(): void;
}

export function rootImage(): RootImage {
  const root = mkdtempSync(join(tmpdir(), 'reroute-root-'));
  const out: string[] = [];
  return {
    root,
    out,
    put(path, text, mode = 0o644) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
      chmodSync(join(root, path), mode);
    },
    read: (path) => readFileSync(join(root, path), 'utf8'),
    env: (o = {}) => ({
      globals: { config: o.config ?? '/scratch/reroute/config.json', dryRun: o.dryRun === true, verbose: false },
      display: { out: (l) => out.push(l), err: (l) => out.push(`ERR ${l}`) },
    }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
