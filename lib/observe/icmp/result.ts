// The one shape a target's echoes are reported in, for the sweep and the monitor alike (lib/types.ts ProbeResult).
import type { ProbeResult } from '../../types';

/** What came back of the echoes judged: how many, and their round trips (ms; meaningless while received is 0). */
export interface EchoTally {
  sent: number;
  received: number;
  rttMin: number;
  rttMax: number;
  rttSum: number;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * A target's result. Loss is over the echoes judged; none judged (nothing could be sent, or nothing has been yet)
 * means no answer was heard: 100 %, as the verdict that goes with it can only rest on silence or an error.
 */
export function probeResult(ip: string, t: EchoTally, reachable: boolean, error?: string): ProbeResult {
  const r: ProbeResult = {
    ip,
    sent: t.sent,
    received: t.received,
    lossPct: t.sent === 0 ? 100 : round3((100 * (t.sent - t.received)) / t.sent),
    rttMinMs: t.received ? round3(t.rttMin) : null,
    rttAvgMs: t.received ? round3(t.rttSum / t.received) : null,
    rttMaxMs: t.received ? round3(t.rttMax) : null,
    reachable,
  };
  if (error !== undefined) r.error = error;
  return r;
}

/** A target nothing could be sent to, and why. */
export const failedResult = (ip: string, error: string): ProbeResult =>
  probeResult(ip, { sent: 0, received: 0, rttMin: 0, rttMax: 0, rttSum: 0 }, false, error);
