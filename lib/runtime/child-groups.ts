// The process groups of the commands this process started and that still run. Kept apart from exec.ts so the exit
// path can kill them without loading node:child_process (2 ms) in a run that started none.

const liveGroups = new Set<number>();

export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

/** Kill every process group this process started and that still runs. Used by the pass deadline and on exit. */
export function killAllChildren(): number {
  let killed = 0;
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  return killed;
}
