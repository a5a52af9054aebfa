// The config file (and the credentials file it names) loads and validates.
import { fail, ok, type Check } from './types';

export const configCheck: Check = {
  id: 'config',
  title: 'config',
  deadlineMs: () => 2000,
  async run(ctx) {
    const c = ctx.config;
    if (!c) return fail((ctx.configError ?? 'not loaded').replace(/^config: /, ''), 'every key is described in docs/config.md');
    const others = new Set(c.scvms.map((s) => s.dataIp).filter((ip) => ip !== c.local.dataIp)).size;
    const login = ctx.credentials ? 'API login configured' : 'no API login configured';
    return ok(`${ctx.configPath}: local SCVM ${c.local.dataIp}, ${others} other SCVMs, ${login}`);
  },
};
