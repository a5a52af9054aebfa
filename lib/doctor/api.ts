// The SCVM API answers and the login works, through the client a pass uses; no secret is printed (the client's
// reasons never hold one, and the token stays in a cache that is thrown away).
import { initialApiCache } from '../observe/zbs/cache';
import { createZbsClient } from '../observe/zbs/client';
import { fail, needsConfig, ok, warn, type Check } from './types';

export const apiCheck: Check = {
  id: 'api',
  title: 'SCVM API and login',
  deadlineMs: (ctx) => ctx.settings.api.budgetMs + 1000,
  async run(ctx) {
    const config = ctx.config;
    if (!config) return needsConfig(ctx);
    const client = createZbsClient({ config, credentials: ctx.credentials, log: ctx.log, cache: initialApiCache(), now: Date.now });
    try {
      const s = await client.sessions();
      if (!s.ok) return fail(`no session list from any SCVM: ${s.reason}`, 'check api.scheme/port, the SCVMs\' API service and the credentials, as the line says');
      const login = ctx.credentials ? 'login ok' : 'no login configured';
      const base = `session list from ${s.from} (${s.sessions.length} sessions, ${login})`;
      const local = s.sessions.find((x) => x.dataIp === config.local.dataIp);
      const why = 'check the local SCVM\'s storage service; the agent moves the route once a second list confirms it';
      if (!local) return warn(`${base}; no session of the local SCVM ${config.local.dataIp} in it`, why);
      if (!local.alive) return warn(`${base}; the local SCVM's session is dead`, why);
      return ok(`${base}; the local SCVM's session is alive`);
    } finally {
      await client.close();
    }
  },
};
