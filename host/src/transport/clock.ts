// Time as the protocol client sees it. Real links use the wall clock; a simulated node runs
// on its own simulated time, and unit tests run a virtual clock so that a transfer with
// timeouts and retransmissions takes milliseconds to test and its timing can be measured.

export interface Clock {
  /** Milliseconds on this clock's own time line. */
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: number } | ReturnType<typeof setTimeout>;

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(resolve, ms));
}

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when `run` finds nothing else to do: every promise and callback
 * settles at the current instant, then time jumps to the next timer. Deterministic and fast.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers: Pending[] = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const p = { id: this.nextId++, at: this.t + Math.max(0, ms), fn };
    // Keep the list sorted by due time, then by creation (stable among equal times).
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1].at > p.at) i--;
    this.timers.splice(i, 0, p);
    return { id: p.id };
  }

  clearTimer(handle: TimerHandle): void {
    const id = (handle as { id: number }).id;
    const i = this.timers.findIndex((p) => p.id === id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Runs timers in time order until `work` settles; throws if it can never settle. */
  async run<T>(work: Promise<T>, limitMs = 3_600_000): Promise<T> {
    let done = false;
    const settled = work.finally(() => { done = true; });
    settled.catch(() => undefined);
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (done) return settled;
      const next = this.timers.shift();
      if (!next) throw new Error('VirtualClock: nothing scheduled and the work never settled (deadlock)');
      if (next.at > limitMs) throw new Error(`VirtualClock: work still running at ${limitMs} ms of virtual time`);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
  }
}
