// The route command lists routes and the VIP's /32 route is parsed, with the backend a pass uses (read only).
import { createRouteBackend } from '../routes';
import { fail, ok, warn, type Check } from './types';

export const routeCheck: Check = {
  id: 'route',
  title: 'VIP route',
  deadlineMs: (ctx) => ctx.settings.commandTimeoutMs + 1000,
  async run(ctx) {
    const vip = `${ctx.settings.nfsVip}/32`;
    let backend;
    try {
      backend = await createRouteBackend({ ...ctx.settings, platform: ctx.platform }, ctx.log, { dryRun: true });
    } catch (e) {
      return fail((e as Error).message, 'set "platform" in the config to what this host is, or fix PATH');
    }
    const r = await backend.readVip();
    if (!r.ok) return fail(`cannot read the routes: ${r.reason}`, 'run the route listing by hand (docs/routes.md) and report what it prints');
    if (r.nextHops.length === 0) {
      return warn(`the route table holds no ${vip} route`, `the agent's next pass adds it; check that the datastore is mounted from ${ctx.settings.nfsVip} (nfsVip)`);
    }
    const via = r.nextHops.join(', ');
    if (r.nextHops.length > 1) return warn(`${vip} has ${r.nextHops.length} next hops (${via})`, "the agent's next pass leaves one");
    const c = ctx.config;
    if (!c) return ok(`${vip} via ${via}`);
    const scvms = new Set([c.local.dataIp, ...c.scvms.flatMap((s) => [s.dataIp, s.manageIp]), ...Object.values(c.accessIps)]);
    if (!scvms.has(r.nextHops[0]!)) return warn(`${vip} via ${via}, which is no SCVM of the config`, 'add that SCVM to scvms, or correct the route');
    const local = [c.local.dataIp, c.accessIps[c.local.dataIp]].includes(via);
    return ok(`${vip} via ${via} (${local ? 'the local SCVM' : 'a remote SCVM: rerouted'})`);
  },
};
