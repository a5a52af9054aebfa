// No other agent manages the route: the Python agent's cron lines and boot hooks are gone (issue 16 item 5).
import { describeOldAgent, findOldAgent, OLD_AGENT_MARKERS, oldAgentPlaces } from '../install/old-agent';
import { fail, ok, type Check } from './types';

export const oldAgentCheck: Check = {
  id: 'old-agent',
  title: 'no other agent',
  deadlineMs: () => 2000,
  async run(ctx) {
    const hits = findOldAgent(ctx.targets);
    if (hits.length > 0) {
      return fail(
        `the old Python agent still manages the route from ${describeOldAgent(hits)}: two agents would fight over it`,
        `run reroute --config ${ctx.configPath} install --replace-old-agent (it comments those lines out)`,
      );
    }
    const places = oldAgentPlaces(ctx.targets).length;
    return ok(`no active line naming ${OLD_AGENT_MARKERS.join(', ')} in the ${places} cron and boot files`);
  },
};
