// What a pass says in the log. Every change and every warning at once; a pass that changes nothing only once in
// log.steadyEverySec, so a steady host writes a line an hour to its boot media, not one a second.
import { dirname } from 'node:path';
import { isRepeat, passesIn, type Decision } from '../decide';
import type { AgentTime } from '../runtime/clock';
import type { Log } from '../runtime/log';
import { HOUR_MS, saidWithin } from '../runtime/said';
import type { State } from '../state/schema';

/** Log the pass; returns when the last steady line was logged (agent time), for the record. */
export function logPass(log: Log, decision: Decision, state: State, time: AgentTime, steadyEverySec: number): number | null {
  for (const w of decision.warnings) log.warn(w);
  const to = decision.change ? decision.nextHop : 'keep';
  const line = `local ${decision.local}, route ${decision.from.join(',') || 'none'} -> ${to} (row ${decision.row} ${decision.reason}): ${decision.because}`;
  const journal = state.engine.record.journal;
  const [before, last] = journal.slice(-2);
  // this pass is the last entry, alone; the entry before holds the run it repeats, if any
  const repeats = before && last && isRepeat(before, last) ? passesIn(before) : 0;
  const news = decision.change || decision.warnings.length > 0 || repeats === 0;
  if (news) {
    log.info(`pass: ${line}`);
    return time.now;
  }
  if (state.steadyLoggedAt === null || time.now - state.steadyLoggedAt >= steadyEverySec * 1000) {
    log.info(`steady: ${line} (the same for ${repeats + 1} passes)`);
    return time.now;
  }
  log.debug(`pass: ${line}`);
  return state.steadyLoggedAt;
}

/** A newer agent's file is in the way: say so once an hour (not awaited); the pass goes on without writing it. */
export function warnReadOnly(log: Log, why: string, recordPath: string): void {
  void saidWithin(dirname(recordPath), why, HOUR_MS).then((said) => {
    if (said) return;
    log.warn(
      `${why}: this agent reads what it understands of it and does not write it; failover goes on. ` +
        'Reinstall the newer reroute, or move the file aside if going back to this version is meant to last',
    );
  });
}
