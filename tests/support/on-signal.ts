// A benchmark or test stopped by Ctrl-C or kill must not leave its namespaces, mounts and processes behind: what it
// sets up registers how to undo it, and SIGINT or SIGTERM undoes all of it, newest first, before the process exits.
const undo: (() => void)[] = [];
let handling = false;

function onSignal(code: number): void {
  for (const fn of undo.splice(0).reverse()) {
    try {
      fn();
    } catch {
      // undo the rest regardless
    }
  }
  process.exit(code);
}

/** Run `fn` if the process is stopped by SIGINT or SIGTERM; returns a function that forgets it (it was undone). */
export function undoOnSignal(fn: () => void): () => void {
  if (!handling) {
    handling = true;
    process.once('SIGINT', () => onSignal(130));
    process.once('SIGTERM', () => onSignal(143));
  }
  undo.push(fn);
  return () => {
    const i = undo.indexOf(fn);
    if (i >= 0) undo.splice(i, 1);
  };
}
