// Drives a SimNode's clock in the background while a link (serialport binding, pty) is attached.
//
// Two paces:
// - speed = Infinity: as fast as the machine can. Only in-process code talks to the node, so
//   nothing outside can tell simulated from real time; the node runs in slices between event
//   loop turns, and a slice ends early when a byte reaches the host, so in-process host code
//   answers at the very simulated instant the byte arrived (no slice-sized latency is invented).
// - speed = k (finite): k simulated seconds per wall-clock second. Needed as soon as an outside
//   program (avrdude, a terminal) is on the line, because its timeouts and the firmware's are
//   measured in wall-clock time. The node never runs ahead of the wall clock; while bytes flow
//   the runner keeps it within a fraction of a byte time of it (see pace.ts), so bytes reach
//   the host when they are due and host bytes enter the node when they arrive (hostInput).
//   If the machine cannot keep up, the debt is dropped rather than paid back in a burst.

import type { SimNode } from '../node.ts';
import { Pace } from './pace.ts';

export interface RunnerOptions {
  /** Simulated seconds per wall-clock second; Infinity (default) runs as fast as possible. */
  speed?: number;
  /** Longest simulated stretch run without returning to the event loop; default 5 ms. */
  sliceSeconds?: number;
  /** How far behind the wall clock a paced node may fall before the debt is dropped; default 50 ms. */
  maxLagSeconds?: number;
  /** Paced: wall-clock ms after the last byte during which the runner polls; default 50. */
  busyWindowMs?: number;
  /** Paced: wall-clock ms slept between polls while bytes flow; default 0.05 (~half a byte time). */
  pollSleepMs?: number;
  /** Wall clock in ms (injectable for tests); default performance.now(). */
  nowMs?: () => number;
  /** Called if the simulation throws; the runner has stopped by then. */
  onError?: (err: unknown) => void;
}

/** Sub-millisecond sleeps: Node.js timers cannot wait less than about 1 ms. */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

export class SimRunner {
  readonly sliceCycles: number;
  private pace: Pace | null = null;
  private speedValue: number;
  private readonly opts: RunnerOptions;
  private readonly onError: ((err: unknown) => void) | undefined;
  private active = false;
  private timer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private pendingImmediate = false;
  private byteArrived = false;
  private unsubscribe: (() => void) | null = null;
  private readonly sliceListeners: (() => void)[] = [];
  /** Wall time spent inside node.run, and simulated time covered: the achieved speed. */
  busyMs = 0;
  simulatedSeconds = 0;

  constructor(
    readonly node: SimNode,
    opts: RunnerOptions = {},
  ) {
    this.opts = opts;
    this.speedValue = opts.speed ?? Infinity;
    this.sliceCycles = Math.max(1, Math.round((opts.sliceSeconds ?? 5e-3) * node.clockHz));
    this.onError = opts.onError;
  }

  get running(): boolean {
    return this.active;
  }

  get speed(): number {
    return this.speedValue;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.unsubscribe = this.node.uart.onData(() => {
      this.byteArrived = true;
      this.pace?.traffic();
    });
    this.setSpeed(this.speedValue);
    this.schedule(0);
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.cancelTimer();
  }

  /**
   * Hand bytes from the host to the node: `deliver` runs once a paced node's clock has been
   * brought up to the wall clock, so the bytes start at the simulated time they arrived (not at
   * whatever instant the last slice ended), and the runner then resumes at once.
   */
  hostInput(deliver: () => void): void {
    if (this.active && this.pace) {
      try {
        // Slices end at each byte sent to the host; the catch-up is bounded by maxLagSeconds.
        const target = this.pace.target(this.node.seconds);
        while (this.node.seconds < target && this.runTo(target));
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    deliver();
    this.kick();
  }

  /**
   * Run the next slice now instead of after the current wait: a link calls this when host
   * bytes arrive, so a paced node answers without waiting out a timer tick.
   */
  kick(): void {
    if (!this.active) return;
    this.pace?.traffic();
    if (this.timer === null || this.pendingImmediate) return;
    this.cancelTimer();
    this.schedule(0);
  }

  /** Change the pace; the simulated clock continues from where it is. */
  setSpeed(speed: number): void {
    this.speedValue = speed;
    this.pace = Number.isFinite(speed)
      ? new Pace({
          speed,
          maxLagSeconds: this.opts.maxLagSeconds ?? 0.05,
          busyWindowMs: this.opts.busyWindowMs ?? 50,
          pollSleepMs: this.opts.pollSleepMs ?? 0.05,
          nowMs: this.opts.nowMs,
        })
      : null;
    this.pace?.reanchor(this.node.seconds);
  }

  /** Called after every slice (for links that poll node state, e.g. a drain() waiting for the TX queue). */
  onSlice(listener: () => void): () => void {
    this.sliceListeners.push(listener);
    return () => {
      const i = this.sliceListeners.indexOf(listener);
      if (i >= 0) this.sliceListeners.splice(i, 1);
    };
  }

  private cancelTimer(): void {
    // Each clear function only for its own kind: clearImmediate on a Timeout corrupts the
    // immediate queue's bookkeeping.
    if (this.timer && this.pendingImmediate) clearImmediate(this.timer as NodeJS.Immediate);
    else if (this.timer) clearTimeout(this.timer as NodeJS.Timeout);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (!this.active) return;
    this.pendingImmediate = delayMs <= 0;
    this.timer = this.pendingImmediate ? setImmediate(() => this.tick()) : setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    this.timer = null;
    if (!this.active) return;
    try {
      this.schedule(this.step());
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.stop();
    if (this.onError) this.onError(err);
    else throw err;
  }

  /** Runs one slice; returns how long to wait (ms) before the next one (0: next event-loop turn). */
  private step(): number {
    const pace = this.pace;
    if (!pace) {
      this.runTo(Infinity);
      return 0;
    }
    this.runTo(pace.target(this.node.seconds));
    const wait = pace.wait(this.node.seconds, this.node.uart.queued > 0);
    if (wait.kind === 'timer') return wait.ms;
    sleepMs(wait.sleepMs);
    return 0;
  }

  /**
   * Run the node towards `targetSeconds`, at most one slice, ending early when a byte reaches
   * the host. Returns whether it ran at all.
   */
  private runTo(targetSeconds: number): boolean {
    const node = this.node;
    const budget = Math.min(this.sliceCycles, Math.ceil((targetSeconds - node.seconds) * node.clockHz));
    if (!(budget > 0)) return false;
    this.byteArrived = false;
    const t0 = performance.now();
    const c0 = node.cycles;
    node.runUntil(() => this.byteArrived, budget);
    this.busyMs += performance.now() - t0;
    this.simulatedSeconds += (node.cycles - c0) / node.clockHz;
    for (const l of [...this.sliceListeners]) l();
    return true;
  }
}
