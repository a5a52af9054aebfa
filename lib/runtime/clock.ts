// The agent's clock. Every wait the agent keeps (the stable period, flap damping, a pin's end, the token's and the
// switches' age, warning rate limits) is measured in "agent time": milliseconds that advance with the monotonic clock
// and are carried from one process to the next in the state file. A wall-clock step (NTP, an operator, a bad RTC)
// never moves agent time, so it can never shorten a wait. Field incident: an NTP step of +300 s sent the route back to
// a local SCVM that had been healthy for about 4 s.
//
// Across a reboot the monotonic clock starts again. Agent time then advances by this boot's uptime, which is less than
// the time that really passed (the old boot ran on, the host was down), so waits only get longer; and the pass is
// told there was a gap, so it does not count anything as observed across it.
import { bootId, monotonicMs } from './host';

/** Where agent time stood at some moment of some boot; kept in the state file. */
export interface ClockAnchor {
  /** boot id, or null where the host has none */
  boot: string | null;
  /** monotonic ms at that moment */
  mono: number;
  /** agent time at that moment */
  agent: number;
}

/** A reading of the host's clocks. */
export interface ClockReading {
  boot: string | null;
  mono: number;
  wall: number;
}

export interface AgentTime {
  /** agent time now, ms */
  now: number;
  /** the anchor for the next process: this moment */
  anchor: ClockAnchor;
  /** why time since the anchor was not observed continuously (a reboot, or one that cannot be ruled out); else null */
  gap: string | null;
  /** wall-clock ms of an agent time, for people (logs, status) */
  wallOf(agentMs: number): number;
}

export function readClock(): ClockReading {
  return { boot: bootId(), mono: monotonicMs(), wall: Date.now() };
}

/**
 * Continue agent time from `anchor`. Same boot: the monotonic clock's advance. Another boot (boot ids differ, the
 * monotonic clock went back, or, where there are no boot ids, the RAM-held record of recent passes is gone): this
 * boot's uptime, and a gap. No anchor (first run): agent time starts at the wall clock.
 */
export function continueTime(anchor: ClockAnchor | null, r: ClockReading, opts: { recordSurvived: boolean }): AgentTime {
  let now: number;
  let gap: string | null = null;
  if (anchor === null) {
    now = r.wall;
  } else {
    const sameBoot =
      r.mono >= anchor.mono && (anchor.boot !== null && r.boot !== null ? anchor.boot === r.boot : opts.recordSurvived);
    if (sameBoot) {
      now = anchor.agent + (r.mono - anchor.mono);
    } else {
      now = anchor.agent + Math.max(0, r.mono);
      gap = 'the host rebooted since the last pass (or that cannot be ruled out)';
    }
  }
  return { now, gap, anchor: { boot: r.boot, mono: r.mono, agent: now }, wallOf: (t) => r.wall - (now - t) };
}
