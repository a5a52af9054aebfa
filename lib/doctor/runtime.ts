// The runtime starts (it runs this check): Node, the C library it runs on and the kernel. The glibc version comes
// from Node's own report (gnu_get_libc_version), which works in a chroot and through the bundle's loader, where it is
// the bundled glibc.
import { readFileSync } from 'node:fs';
import { machine, release, type as kernelName } from 'node:os';
import { ok, warn, type Check } from './types';

/** glibc's version this process runs on, or null (not glibc, or no report). */
export function glibcVersion(): string | null {
  try {
    // no reverse DNS lookups of open sockets (Node 22+; not in @types/node yet)
    (process.report as { excludeNetwork?: boolean }).excludeNetwork = true;
    const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    return report.header?.glibcVersionRuntime ?? null;
  } catch {
    return null;
  }
}

/**
 * This process's address space at its largest (VmPeak: V8 reserves cages it never touches, and a host may limit
 * reservations) and its largest resident size (VmHWM), in kB; null where there is no /proc (ESXi) (issue 28).
 */
export function processMemory(): { vmPeakKb: number | null; vmHwmKb: number | null } {
  let text = '';
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // no /proc
  }
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  return { vmPeakKb: kb('VmPeak'), vmHwmKb: kb('VmHWM') };
}

export const runtimeCheck: Check = {
  id: 'runtime',
  title: 'runtime',
  deadlineMs: () => 2000,
  async run() {
    const bundle = process.env.REROUTE_BUNDLE;
    const glibc = glibcVersion();
    const node = `node ${process.version} ${bundle ? `from the bundle ${bundle}` : `(${process.execPath})`}`;
    const detail = `${node}, glibc ${glibc ?? 'unknown'}${bundle ? ' (bundled)' : ''}, kernel ${kernelName()} ${release()} ${machine()}`;
    if (glibc === null) return warn(detail, 'the bundle brings its own glibc: run the agent through /opt/reroute/bin/reroute');
    return ok(detail);
  },
};
