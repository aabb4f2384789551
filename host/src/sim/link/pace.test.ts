// The paced runner's timing rules, on a fake wall clock: the node is never allowed ahead of the
// wall clock, a lost race is forgiven rather than paid back in a burst, and the runner polls
// (sub-millisecond sleeps) only while bytes are flowing, falling back to timers when idle.
import { describe, expect, it } from 'vitest';
import { Pace, type PaceOptions } from './pace.ts';

function pace(opts: Partial<PaceOptions> = {}) {
  const clock = { now: 1000 };
  const p = new Pace({ speed: 1, maxLagSeconds: 0.05, busyWindowMs: 50, pollSleepMs: 0.05, nowMs: () => clock.now, ...opts });
  p.reanchor(0.2);
  return { p, clock };
}

describe('Pace.target', () => {
  it('follows the wall clock times the speed from the anchor, never ahead of it', () => {
    const { p, clock } = pace({ speed: 0.5 });
    expect(p.target(0.2)).toBe(0.2);
    clock.now += 10;
    expect(p.target(0.2)).toBeCloseTo(0.205, 12);
    clock.now += 30;
    expect(p.target(0.205)).toBeCloseTo(0.22, 12);
  });

  it('forgets a debt larger than maxLagSeconds instead of catching up in a burst', () => {
    const { p, clock } = pace();
    clock.now += 500; // the machine stalled for half a second
    expect(p.target(0.2)).toBeCloseTo(0.25, 12); // only maxLag is owed
    clock.now += 1;
    expect(p.target(0.25)).toBeCloseTo(0.251, 12); // and the clock goes on from there
  });
});

describe('Pace.wait', () => {
  it('uses timers while the line is quiet', () => {
    const { p } = pace();
    expect(p.wait(0.2, false)).toEqual({ kind: 'timer', ms: 1 });
  });

  it('polls with short sleeps while bytes flow, and for busyWindowMs after the last one', () => {
    const { p, clock } = pace();
    p.traffic();
    expect(p.wait(0.2, false)).toEqual({ kind: 'poll', sleepMs: 0.05 });
    clock.now += 49;
    expect(p.wait(0.249, false)).toEqual({ kind: 'poll', sleepMs: 0.05 });
    clock.now += 1;
    expect(p.wait(0.25, false)).toEqual({ kind: 'timer', ms: 1 });
  });

  it('polls while host bytes are still on their way into the node', () => {
    const { p } = pace();
    expect(p.wait(0.2, true)).toEqual({ kind: 'poll', sleepMs: 0.05 });
  });

  it('goes on without sleeping when a slice left the node behind the wall clock', () => {
    const { p, clock } = pace();
    clock.now += 3;
    expect(p.wait(0.201, false)).toEqual({ kind: 'poll', sleepMs: 0 });
  });

  it('waits on a timer while the node is ahead (a session reset ran it to its receiver)', () => {
    const { p } = pace({ speed: 0.5 });
    p.traffic();
    // 4 ms of simulated time ahead at half speed: 8 ms of wall clock before it is due.
    const w = p.wait(0.204, false);
    expect(w.kind).toBe('timer');
    expect(w.kind === 'timer' && w.ms).toBeCloseTo(9, 9);
  });
});
