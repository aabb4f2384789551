// The timing decisions of a paced SimRunner, kept apart from the event loop so they can be
// tested with a fake clock.
//
// A paced node must look like a board on a serial line to a program that measures real time:
// - its clock never runs ahead of the wall clock (that would make every firmware, and so every
//   bootloader being compared, look faster than it is);
// - a byte the node finishes sending must reach the host when the wall clock reaches its
//   simulated time, not when a coarse timer happens to fire next;
// - a byte from the host must enter the node at the simulated time of its arrival.
// Node.js timers fire with about 1 ms granularity (often 1.1-1.5 ms), which is several byte
// times at 115200 baud. So while bytes are flowing the runner polls: it catches the node up
// to the wall clock, sleeps a fraction of a byte time, and looks for host bytes again. When
// the line has been quiet for a while it falls back to timers, so an idle node costs little.

export interface PaceOptions {
  /** Simulated seconds per wall-clock second (finite, > 0). */
  speed: number;
  /** How far behind the wall clock the node may fall before the debt is dropped. */
  maxLagSeconds: number;
  /** Wall-clock ms after the last byte (either way) during which the runner keeps polling. */
  busyWindowMs: number;
  /** Wall-clock ms of each sleep while polling. */
  pollSleepMs: number;
  /** Wall clock in ms; default performance.now(). */
  nowMs?: () => number;
}

/** How the runner waits before its next slice. */
export type PaceWait =
  /** Come back through the event loop (to read host bytes) after sleeping `sleepMs`. */
  | { kind: 'poll'; sleepMs: number }
  /** Nothing is expected soon: a timer of `ms` (a host byte ends it early through a kick). */
  | { kind: 'timer'; ms: number };

/** Longest timer wait while idle, so a change of pace or a stop is seen reasonably soon. */
const MAX_TIMER_MS = 20;
/** Node.js timers cannot wait less than this. */
const MIN_TIMER_MS = 1;

export class Pace {
  readonly speed: number;
  private readonly opts: Required<PaceOptions>;
  /** Simulated seconds at wall time `wallMs`: the mapping between the two clocks. */
  private anchor = { wallMs: 0, simSeconds: 0 };
  private lastTrafficMs = -Infinity;

  constructor(opts: PaceOptions) {
    if (!(opts.speed > 0) || !Number.isFinite(opts.speed)) throw new Error(`Pace: speed must be finite and positive, not ${opts.speed}`);
    this.opts = { ...opts, nowMs: opts.nowMs ?? (() => performance.now()) };
    this.speed = opts.speed;
  }

  /** Start mapping wall time now to the node's current simulated time. */
  reanchor(simSeconds: number): void {
    this.anchor = { wallMs: this.opts.nowMs(), simSeconds };
  }

  /**
   * Simulated time the node should reach now. If the node is further behind than maxLagSeconds
   * (the machine could not keep up), the debt is forgotten instead of being paid back in a burst.
   */
  target(simSeconds: number): number {
    const now = this.opts.nowMs();
    const due = this.anchor.simSeconds + ((now - this.anchor.wallMs) / 1000) * this.speed;
    if (due - simSeconds <= this.opts.maxLagSeconds) return due;
    this.anchor = { wallMs: now, simSeconds: simSeconds + this.opts.maxLagSeconds };
    return this.anchor.simSeconds;
  }

  /** A byte went either way: keep polling for a while. */
  traffic(): void {
    this.lastTrafficMs = this.opts.nowMs();
  }

  /** Whether bytes flowed recently (or `lineBusy`: host bytes are still on their way in). */
  busy(lineBusy: boolean): boolean {
    return lineBusy || this.opts.nowMs() - this.lastTrafficMs < this.opts.busyWindowMs;
  }

  /** How to wait after a slice that left the node at `simSeconds`. */
  wait(simSeconds: number, lineBusy: boolean): PaceWait {
    const aheadMs = ((simSeconds - this.target(simSeconds)) / this.speed) * 1000;
    // Still behind (the slice was cut short): continue as soon as the event loop allows.
    if (aheadMs < -this.opts.pollSleepMs) return { kind: 'poll', sleepMs: 0 };
    // Ahead of the wall clock (a session reset ran the bootloader up to its receiver) by more
    // than a timer tick, or nothing flowing: a timer costs nothing and is precise enough.
    if (aheadMs > MIN_TIMER_MS || !this.busy(lineBusy)) {
      return { kind: 'timer', ms: Math.min(MAX_TIMER_MS, Math.max(MIN_TIMER_MS, aheadMs + MIN_TIMER_MS)) };
    }
    return { kind: 'poll', sleepMs: this.opts.pollSleepMs };
  }
}
