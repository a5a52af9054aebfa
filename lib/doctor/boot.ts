// Something puts the cron lines back at boot. ESXi rebuilds root's crontab from its image at every boot: the VIB's
// init script or the local.sh block does it (local.sh does not run under Secure Boot). /etc/cron.d is persistent.
import { existsSync } from 'node:fs';
import { hasBootBlock } from '../install/crontab';
import { readText, underRoot, VIB_INIT_SCRIPT } from '../install/targets';
import { fail, ok, type Check } from './types';

export const bootCheck: Check = {
  id: 'boot',
  title: 'boot persistence',
  deadlineMs: () => 1000,
  async run(ctx) {
    const t = ctx.targets;
    if (!t.bootScript) return ok(`nothing needed: ${t.crontab.path} is on persistent /etc`);
    const init = underRoot(ctx.root, VIB_INIT_SCRIPT);
    let block: boolean;
    try {
      block = hasBootBlock(readText(t.bootScript.file), t.bootScript.file);
    } catch (e) {
      return fail((e as Error).message, 'remove the reroute lines from it by hand, then run reroute install');
    }
    const hooks = [
      ...(existsSync(init) ? [`the VIB's init script ${init}`] : []),
      ...(block ? [`the reroute block in ${t.bootScript.file}${existsSync(init) ? '' : ' (which ESXi skips under Secure Boot)'}`] : []),
    ];
    if (hooks.length === 0) {
      return fail(`nothing puts the cron lines back at boot (no ${init}, no reroute block in ${t.bootScript.file})`, 'install the VIB (docs/esxi.md), or run reroute install');
    }
    return ok(`the cron lines come back at boot through ${hooks.join(' and ')}`);
  },
};
