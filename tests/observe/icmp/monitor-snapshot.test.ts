// What one minute's runner hands to the next (monitor.json), read back as far as it can be believed: a damaged value
// must never reach the monitor, where a round-trip estimate that is not a number would keep a dead SCVM "up" for the
// rest of that process's minute.
import { parseSnapshot } from '../../../lib/state/run-files';

const GOOD = { srtt: 0.4, rttvar: 0.2, verdict: 'up', heardAt: 123_456, lostInRow: 0 };

describe('parseSnapshot', () => {
  it('keeps what this version writes', () => {
    const text = JSON.stringify({ '10.0.0.1': GOOD, '10.0.0.2': { srtt: null, rttvar: null, verdict: 'unknown' } });
    expect(parseSnapshot(text)).toEqual({
      '10.0.0.1': GOOD,
      '10.0.0.2': { srtt: null, rttvar: null, verdict: 'unknown' },
    });
  });

  it.each([
    ['not JSON', '{"10.0.0.1": {'],
    ['an array', '[1, 2]'],
    ['null', 'null'],
    ['a number', '42'],
  ])('reads %s as nothing handed over', (_what, text) => {
    expect(parseSnapshot(text)).toEqual({});
  });

  it.each([
    ['a round trip that is not a number', { ...GOOD, srtt: 'abc' }],
    ['a negative variation', { ...GOOD, rttvar: -1 }],
    ['an estimate without its variation', { ...GOOD, rttvar: null }],
    ['a verdict this version does not know', { ...GOOD, verdict: 'maybe' }],
    ['an entry that is not an object', 'up'],
  ])('drops an entry with %s, keeping the others', (_what, bad) => {
    const text = JSON.stringify({ '10.0.0.1': bad, '10.0.0.3': GOOD });
    expect(parseSnapshot(text)).toEqual({ '10.0.0.3': GOOD });
  });

  it('drops an entry whose key is no IPv4 address', () => {
    expect(parseSnapshot(JSON.stringify({ 'scvm-1': GOOD, '10.0.0.256': GOOD }))).toEqual({});
  });

  it('keeps an entry but not its silence when the time it was last heard cannot be believed', () => {
    const text = JSON.stringify({ '10.0.0.1': { ...GOOD, heardAt: -5, lostInRow: 3 }, '10.0.0.2': { ...GOOD, heardAt: 'soon' } });
    expect(parseSnapshot(text)).toEqual({
      '10.0.0.1': { srtt: 0.4, rttvar: 0.2, verdict: 'up' },
      '10.0.0.2': { srtt: 0.4, rttvar: 0.2, verdict: 'up' },
    });
  });

  it('drops a count of lost echoes that is not a whole number', () => {
    const text = JSON.stringify({ '10.0.0.1': { ...GOOD, lostInRow: 2.5 } });
    expect(parseSnapshot(text)).toEqual({ '10.0.0.1': { srtt: 0.4, rttvar: 0.2, verdict: 'up', heardAt: 123_456 } });
  });

  it('keeps when an entry was handed over, unless that is no time (then a "down" in it is not believed)', () => {
    const text = JSON.stringify({ '10.0.0.1': { ...GOOD, at: 99 }, '10.0.0.2': { ...GOOD, at: -1 }, '10.0.0.3': { ...GOOD, at: 'now' } });
    expect(parseSnapshot(text)).toEqual({ '10.0.0.1': { ...GOOD, at: 99 }, '10.0.0.2': GOOD, '10.0.0.3': GOOD });
  });
});
