// Test support: a loopback "cluster" of ZBS emulators (one per SCVM, 127.0.0.1, .2, .3 ... on one port) and a config
// whose manage IPs point at them. Data IPs are lab addresses that are only ever data here, never contacted.
import type { Config, ConfigInput } from '../../../lib/config/schema';
import { validateConfig } from '../../../lib/config/validate';
import { refuseOutsideLoopback } from '../../support/netns';
import { startZbsEmulator, type EmuSession, type ZbsEmulator } from '../../support/zbs-emulator';

export const CREDENTIALS = { username: 'admin', password: 'secret' };

export interface Lab {
  emus: ZbsEmulator[];
  port: number;
  sessions: EmuSession[];
  config: Config;
  close(): Promise<void>;
}

/** SCVM i (0 = local): data IP 10.10.85.(15+i), manage IP 127.0.0.(1+i), session uuid "sess-<i>". */
export function scvm(i: number) {
  return { dataIp: `10.10.85.${15 + i}`, manageIp: `127.0.0.${1 + i}`, uuid: `sess-${i}` };
}

/** Every SCVM's session, all alive, with the manage IP as secondary_data_ip. */
export function clusterSessions(n: number): EmuSession[] {
  return Array.from({ length: n }, (_, i) => ({
    uuid: scvm(i).uuid,
    ip: scvm(i).dataIp,
    secondary_data_ip: scvm(i).manageIp,
    zone: 'default',
    alive: true,
  }));
}

/**
 * A valid config for n SCVMs on the lab port; `api` and other keys may be overridden. Timeouts and the hedge delay are
 * generous, so a loaded machine does not make a slow local answer look like a failure (and a second SCVM get asked);
 * tests about racing and timeouts set their own.
 */
export function labConfig(n: number, port: number, over: Partial<ConfigInput> & { api?: ConfigInput['api'] } = {}): Config {
  const r = validateConfig({
    ...over,
    local: { dataIp: scvm(0).dataIp, manageIp: scvm(0).manageIp },
    scvms: Array.from({ length: n }, (_, i) => ({ dataIp: scvm(i).dataIp, manageIp: scvm(i).manageIp })),
    hypervisorIp: '127.0.1.11',
    api: {
      port,
      hedgeFloorMs: 3000,
      hedgeCeilingMs: 3000,
      connectTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      budgetMs: 8000,
      ...over.api,
    },
  }, 'esxi');
  if (!r.ok) throw new Error(`lab config invalid: ${r.problems.join('; ')}`);
  return r.config;
}

/** Start n emulators sharing one port (retrying when another process holds it on some address). */
export async function startLab(n: number, over: Partial<ConfigInput> = {}): Promise<Lab> {
  const sessions = clusterSessions(n);
  for (let attempt = 0; ; attempt++) {
    const emus: ZbsEmulator[] = [];
    try {
      const first = await startZbsEmulator({ host: scvm(0).manageIp, port: 0, state: { sessions } });
      emus.push(first);
      for (let i = 1; i < n; i++) {
        refuseOutsideLoopback(scvm(i).manageIp);
        emus.push(await startZbsEmulator({ host: scvm(i).manageIp, port: first.port, state: { sessions } }));
      }
      const port = first.port;
      return {
        emus,
        port,
        sessions,
        config: labConfig(n, port, over),
        close: async () => {
          await Promise.all(emus.map((e) => e.close()));
        },
      };
    } catch (e) {
      await Promise.all(emus.map((x) => x.close()));
      if (attempt >= 5) throw e;
    }
  }
}

/** Logins received by all emulators of the lab. */
export const loginCount = (lab: Lab) => lab.emus.reduce((n, e) => n + e.records.logins.length, 0);

/** API requests received by all emulators of the lab (logins included). */
export const requestCount = (lab: Lab) => lab.emus.reduce((n, e) => n + e.records.all.length, 0);

/**
 * The most API requests open at the same moment across all emulators. A request counts as closed `graceMs` before the
 * emulator saw its connection close: the client has already let it go by then, and the emulator, in the same
 * process, may notice a moment after the client has asked the next SCVM.
 */
export function maxInFlight(lab: Lab, graceMs: number): number {
  const all = lab.emus.flatMap((e) => e.records.all);
  const end = (r: (typeof all)[number]) => (r.endedAt === undefined ? Infinity : r.endedAt - graceMs);
  // The most open at once is the most open at some request's arrival: that one, and those before it not yet closed.
  return Math.max(0, ...all.map((r) => 1 + all.filter((o) => o !== r && o.at <= r.at && r.at < end(o)).length));
}
