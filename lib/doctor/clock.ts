// The clock is sane: the wall clock is not before this build, and the boot id (how agent time tells one boot from
// the next, docs/state.md) is readable, or it is said why not.
import { BUILD_TIME } from '../build-info';
import { bootId } from '../runtime/host';
import { fail, ok, warn, type Check } from './types';

export const clockCheck: Check = {
  id: 'clock',
  title: 'clock',
  deadlineMs: () => 1000,
  async run(ctx) {
    const now = new Date();
    const built = BUILD_TIME === null ? NaN : Date.parse(BUILD_TIME);
    if (now.getTime() < built) {
      return fail(`the wall clock says ${now.toISOString()}, before this build (${BUILD_TIME})`, 'set the clock and NTP (ESXi: esxcli system ntp; dom0: chronyd)');
    }
    const wall = `wall clock ${now.toISOString()}${Number.isNaN(built) ? ' (build time unknown)' : `, after the build (${BUILD_TIME})`}`;
    const boot = bootId();
    if (boot !== null) return ok(`${wall}; boot id ${boot}`);
    const why = 'no /proc/sys/kernel/random/boot_id: a reboot is told by the record file (paths.record) being gone from the RAM disk';
    if (ctx.platform === 'esxi') return ok(`${wall}; ${why}`);
    return warn(`${wall}; ${why}`, 'keep paths.record on a RAM-backed path (/run, /var/run)');
  },
};
