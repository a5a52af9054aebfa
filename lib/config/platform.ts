// Which host this is, decided one way for every command (loop, install, status): by the kernel's name, not by what
// happens to be on PATH (cron's PATH is minimal and differs between hosts).
import { existsSync } from 'node:fs';
import { type as kernelName } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors';

/** The platforms a config may name. xen and linux share the Linux route backend. */
export type Platform = 'esxi' | 'xen' | 'linux';
export const PLATFORMS: readonly Platform[] = ['esxi', 'xen', 'linux'];

export interface DetectOptions {
  /** an image of a host's root (install --root): its marker files are read instead of this kernel's name */
  root?: string | null;
  /** uname -s; default this host's */
  kernel?: string;
}

/** The platform and the evidence it was decided on, for people (`reroute doctor`). */
export interface Detected {
  platform: Platform;
  how: string;
}

/**
 * ESXi when uname -s says VMkernel or the host's configuration /etc/vmware/esx.conf exists (an image under `root` has
 * no kernel to ask); XenServer / XCP-ng dom0 when /etc/xensource-inventory exists; else plain Linux.
 */
export function detectPlatformWhy(opts: DetectOptions = {}): Detected {
  const root = opts.root ?? null;
  const under = (p: string) => (root === null ? p : join(root, p));
  const kernel = opts.kernel ?? kernelName();
  if (root === null && kernel === 'VMkernel') return { platform: 'esxi', how: 'uname -s is VMkernel' };
  if (existsSync(under('/etc/vmware/esx.conf'))) return { platform: 'esxi', how: `${under('/etc/vmware/esx.conf')} exists` };
  if (existsSync(under('/etc/xensource-inventory'))) return { platform: 'xen', how: `${under('/etc/xensource-inventory')} exists` };
  const where = root === null ? `uname -s is ${kernel}` : `under ${root}`;
  return { platform: 'linux', how: `${where}; neither /etc/vmware/esx.conf nor /etc/xensource-inventory exists` };
}

/** The platform of this host (or of the image under `root`); see detectPlatformWhy. */
export function detectPlatform(opts: DetectOptions = {}): Platform {
  return detectPlatformWhy(opts).platform;
}

/** config.platform resolved: "auto" detects, a named platform is taken as given. */
export function resolvePlatform(configured: string, opts: DetectOptions = {}): Platform {
  if (configured === 'auto') return detectPlatform(opts);
  if ((PLATFORMS as readonly string[]).includes(configured)) return configured as Platform;
  throw new ConfigError([`platform: "${configured}" is not one of auto, ${PLATFORMS.join(', ')}`]);
}
