// Which platform the agent takes this host for, and how: a config naming another one than the host looks like
// would run the wrong route commands.
import { ok, warn, type Check } from './types';

export const platformCheck: Check = {
  id: 'platform',
  title: 'platform',
  deadlineMs: () => 1000,
  async run(ctx) {
    const seen = ctx.detected;
    if ((ctx.platform === 'esxi') !== (seen.platform === 'esxi')) {
      return warn(
        `${ctx.platform} (${ctx.platformHow}), but this host looks like ${seen.platform} (${seen.how})`,
        'set "platform": "auto" in the config, or the platform this host is',
      );
    }
    return ok(`${ctx.platform}: ${ctx.platformHow}`);
  },
};
