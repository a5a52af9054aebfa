// The state, record, lock and log can be written: a temp file is created and removed in each one's directory (or
// the nearest one that exists: a pass creates the rest). Paths on NFS are not touched (the nfs check names them).
import { stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { resolveOffNfs } from './files-on-nfs';
import { fail, ok, type Check } from './types';

const PATHS = ['state', 'record', 'lock', 'log'] as const;

/** The nearest existing directory at or above `dir`, or why there is none. */
async function nearestDir(dir: string): Promise<{ dir: string } | { error: string }> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = await stat(d);
      return st.isDirectory() ? { dir: d } : { error: `${d} is not a directory` };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || d === '/') return { error: `${d}: ${(e as NodeJS.ErrnoException).code}` };
    }
  }
}

/** Create and remove a temp file in `dir`: null when that works, else the error code. */
async function writeError(dir: string): Promise<string | null> {
  const probe = join(dir, `.reroute-doctor.${process.pid}.tmp`);
  try {
    await writeFile(probe, '', { flag: 'wx', mode: 0o600 });
    await unlink(probe);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

export const filesCheck: Check = {
  id: 'files',
  title: 'agent files writable',
  deadlineMs: () => 3000,
  async run(ctx) {
    const table = await ctx.mountTable();
    const mounts = table.ok ? table.mounts : [];
    const problems: string[] = [];
    const seen: string[] = [];
    for (const key of PATHS) {
      const path = ctx.settings.paths[key];
      const { resolved, mount } = resolveOffNfs(resolve(path), mounts);
      if (mount) {
        seen.push(`paths.${key} not tried (on ${mount.label})`);
        continue;
      }
      const near = await nearestDir(dirname(resolved));
      if ('error' in near) {
        problems.push(`paths.${key} ${path}: ${near.error}`);
        continue;
      }
      const error = await writeError(near.dir);
      if (error !== null) problems.push(`paths.${key} ${path}: cannot write in ${near.dir} (${error})`);
      else seen.push(`paths.${key} in ${near.dir}`);
    }
    if (problems.length > 0) return fail(problems.join('; '), 'make those directories writable, or set paths.* in the config to ones that are');
    return ok(seen.join(', '));
  },
};
