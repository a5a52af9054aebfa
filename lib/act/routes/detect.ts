// Which route backend this host needs. `auto` looks at the host; a forced value is taken as given.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../../errors';

/** The platforms a config may name. xen and linux share the Linux backend. */
export type Platform = 'esxi' | 'xen' | 'linux';

export interface DetectOptions {
  /** PATH to search; default process.env.PATH */
  path?: string;
  /** XenServer's marker file */
  xenInventory?: string;
}

/** Full path of an executable `name` on `path`, or null. */
export function findOnPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Resolve config.platform: auto -> ESXi if esxcfg-route (or, on hosts without it, esxcli) is on PATH,
 * XenServer if its inventory file exists, else Linux.
 */
export function detectPlatform(configured: string, opts: DetectOptions = {}): Platform {
  const path = opts.path ?? process.env.PATH;
  switch (configured) {
    case 'esxi':
    case 'xen':
    case 'linux':
      return configured;
    case 'auto':
      if (findOnPath('esxcfg-route', path) || findOnPath('esxcli', path)) return 'esxi';
      if (existsSync(opts.xenInventory ?? '/etc/xensource-inventory')) return 'xen';
      return 'linux';
    default:
      throw new ConfigError([`platform: "${configured}" is not one of auto, esxi, xen, linux`]);
  }
}
