// The config, the state and the log survive a reboot. On ESXi only /vmfs/volumes is disk: everything else (/, /tmp,
// /var, /etc) is the RAM disk. A host booted from USB or SD without a local persistent disk has /scratch on the RAM
// disk (/tmp/scratch, VMware KB 1033696): after a reboot the config is gone, the init script writes no cron lines, and
// the agent is silently absent. Symlinks are followed as the host reads them (/scratch -> /vmfs/volumes/<uuid>/.locker),
// inside --root when given.
import { resolve } from 'node:path';
import { resolveOffNfs } from './files-on-nfs';
import { fail, ok, type Check } from './types';

/** Where ESXi keeps disks; anything else is its RAM disk. */
const ESXI_DISKS = '/vmfs/volumes/';

export const persistentCheck: Check = {
  id: 'persistent',
  title: 'config, state and log survive a reboot',
  deadlineMs: () => 1000,
  async run(ctx) {
    if (ctx.platform !== 'esxi') return ok(`${ctx.platform}: /etc and /var are on dom0's disk`);
    const files = [
      { what: 'the config', path: ctx.configPath },
      { what: 'paths.state', path: ctx.settings.paths.state },
      { what: 'paths.log', path: ctx.settings.paths.log },
      ...(ctx.settings.api.credentialsFile ? [{ what: 'api.credentialsFile', path: ctx.settings.api.credentialsFile }] : []),
    ];
    const onRam: string[] = [];
    const onDisk: string[] = [];
    for (const f of files) {
      const { resolved } = resolveOffNfs(resolve(f.path), [], ctx.root);
      const shown = resolved === f.path ? f.path : `${f.path} (${resolved})`;
      (resolved.startsWith(ESXI_DISKS) ? onDisk : onRam).push(`${f.what} ${shown}`);
    }
    if (onRam.length > 0) {
      return fail(
        `on the RAM disk, lost at reboot (and with the config gone the agent does not start again): ${onRam.join('; ')}`,
        'give the host a persistent scratch location on a local disk (ScratchConfig.ConfiguredScratchLocation, VMware KB 1033696) and reboot, or move --config, paths.state and paths.log under /vmfs/volumes/<local datastore>/',
      );
    }
    return ok(onDisk.join('; '));
  },
};
