// Issue 15 case 7: none of the agent's files is on the NFS datastore served through the VIP, decided from the mount
// table and the paths alone (lib/install/files-on-nfs.ts): the check itself never touches a path on NFS.
import { agentFiles, describeOnNfs, onVipNfs } from './files-on-nfs';
import { fail, ok, warn, type Check } from './types';

export const nfsCheck: Check = {
  id: 'nfs',
  title: 'agent files not on the NFS datastore',
  deadlineMs: () => 12_000, // the esxcli listings (context.ts) and a margin
  async run(ctx) {
    const vip = ctx.settings.nfsVip;
    const v = onVipNfs(agentFiles(ctx.settings, ctx.configPath), await ctx.mountTable(), null);
    if (!v.ok) return warn(`could not tell: ${v.reason}`, `make sure none of the agent's files is on a datastore mounted from ${vip} (docs/install.md)`);
    if (v.onVip.length > 0) {
      return fail(
        `${v.onVip.map(describeOnNfs).join('; ')}: served through ${vip}, the agent would hang exactly when it is needed`,
        'move them to local storage (/scratch on a local disk, /var/run) and set --config and paths.* to match (docs/install.md)',
      );
    }
    return ok(`none of the ${v.checked} agent files is on an NFS mount served through ${vip} (${v.source})`);
  },
};
