// The process groups of the commands this process started and that still run. Kept apart from exec.ts so the exit
// path can kill them without loading node:child_process (2 ms) in a run that started none.

const liveGroups = new Set<number>();
/** told of every change: the runner's watchdog, which must kill them too if it has to kill this process */
let onChange: ((groups: readonly number[]) => void) | null = null;

export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
  onChange?.([...liveGroups]);
}

export function untrackGroup(pgid: number): void {
  if (liveGroups.delete(pgid)) onChange?.([...liveGroups]);
}

/** The process groups that run now. */
export function liveChildGroups(): number[] {
  return [...liveGroups];
}

/** Be told whenever a group starts or ends (one listener; null to stop). */
export function watchChildGroups(fn: ((groups: readonly number[]) => void) | null): void {
  onChange = fn;
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
  onChange?.([]);
  return killed;
}
