// Room in the boot banks for the next upgrade. `esxcli software vib install/update` builds the new image in
// /altbootbank (and the boot banks of hosts upgraded from 6.x are 250 MB vfat volumes): without room for the agent's
// payload it fails with "The pending transaction requires N MB free space" (Broadcom KB 399221). A warning, not a
// failure: the agent runs; its next upgrade would not.
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { underRoot } from '../install/targets';
import { ok, warn, type Check } from './types';

/** The VIB's payload ("reroute", scripts/pack/vib.ts) as a boot bank stores it: NAME.v00 (.v01... on a clash). */
const PAYLOAD_FILE = /^reroute\.v\d\d$/i;

const BANKS = ['/bootbank', '/altbootbank'];
const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

export const bootbankCheck: Check = {
  id: 'bootbank',
  title: 'room in the boot banks for an upgrade',
  deadlineMs: () => 1000,
  async run(ctx) {
    if (ctx.platform !== 'esxi') return ok(`${ctx.platform}: no boot banks`);
    // what an upgrade writes: a payload about the size of the installed one
    const bootbank = underRoot(ctx.root, '/bootbank');
    const name = (await readdir(bootbank).catch(() => [] as string[])).find((n) => PAYLOAD_FILE.test(n));
    if (name === undefined) return ok(`no reroute.v00 in ${bootbank}: the agent was not installed from its VIB, nothing to upgrade here`);
    const installed = join(bootbank, name);
    const need = (await stat(installed)).size;
    const free: string[] = [];
    const short: string[] = [];
    for (const bank of BANKS) {
      let bytes: number;
      try {
        const s = await statfs(underRoot(ctx.root, bank));
        bytes = s.bavail * s.bsize;
      } catch (e) {
        short.push(`${bank} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        continue;
      }
      (bytes < need ? short : free).push(`${bank} ${mb(bytes)} free`);
    }
    if (short.length > 0) {
      return warn(
        `the next upgrade needs about ${mb(need)} (the size of ${installed}): ${[...short, ...free].join(', ')}`,
        'free room by removing VIBs the host does not use (esxcli software vib list; vib remove -n <name>), see Broadcom KB 399221',
      );
    }
    return ok(`${free.join(', ')}; an upgrade needs about ${mb(need)}`);
  },
};
