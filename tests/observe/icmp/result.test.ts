// Issue 32: the sweep and the monitor report a target's echoes through one builder and one rule for a full send
// buffer (they differed: an empty window was 100 % loss in one and 0 % in the other; message text vs errno names).
import { failedResult, probeResult } from '../../../lib/observe/icmp/result';
import { errnoName, sendBufferFull } from '../../../lib/observe/icmp/socket';

const none = { sent: 0, received: 0, rttMin: Number.POSITIVE_INFINITY, rttMax: 0, rttSum: 0 };

test('an empty window is no answer heard: 100 % loss, no round trips, whatever the verdict', () => {
  expect(probeResult('10.0.0.1', none, false, 'ENETUNREACH')).toEqual(failedResult('10.0.0.1', 'ENETUNREACH'));
  expect(probeResult('10.0.0.1', none, true)).toEqual({
    ip: '10.0.0.1', sent: 0, received: 0, lossPct: 100, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, reachable: true,
  });
});

test('loss over the echoes judged and round trips to the microsecond', () => {
  expect(probeResult('10.0.0.1', { sent: 3, received: 2, rttMin: 0.12345, rttMax: 0.5, rttSum: 0.62345 }, true)).toEqual({
    ip: '10.0.0.1', sent: 3, received: 2, lossPct: 33.333, rttMinMs: 0.123, rttAvgMs: 0.312, rttMaxMs: 0.5, reachable: true,
  });
});

test('a full send buffer (EAGAIN, ENOBUFS) is tried again; an unreachable target is its own error', () => {
  // raw-socket throws strerror's text (glibc)
  expect(sendBufferFull(new Error('Resource temporarily unavailable'))).toBe(true);
  expect(sendBufferFull(new Error('No buffer space available'))).toBe(true);
  expect(sendBufferFull(new Error('Network is unreachable'))).toBe(false);
  expect(sendBufferFull(new Error('No route to host'))).toBe(false);
  expect(errnoName(new Error('Resource temporarily unavailable'))).toBe('EAGAIN');
});
