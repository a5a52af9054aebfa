// A route that cannot be read is never changed blindly when the engine has no belief about it either.
import { decide } from '../../lib/decide/decide';
import { initialEngineState } from '../../lib/decide/state';
import { input, LOCAL, R16 } from './builders';

describe('route unreadable', () => {
  it('on a first pass, asks for no change even when local is down', () => {
    const { decision } = decide(input({ spec: { route: 'unreadable', up: { [LOCAL]: false } } }));
    expect(decision.change).toBe(false);
  });

  it('with a believed route, still fails over from it', () => {
    const state = { ...initialEngineState(), target: LOCAL };
    const { decision } = decide(input({ state, spec: { route: 'unreadable', up: { [LOCAL]: false } } }));
    expect(decision).toMatchObject({ change: true, from: [LOCAL], target: R16 });
  });
});
