// Drives a SimNode's clock in the background while a link (serialport binding, pty) is attached.
//
// Two paces:
// - speed = Infinity: as fast as the machine can. Only in-process code talks to the node, so
//   nothing outside can tell simulated from real time; the node runs in slices between event
//   loop turns, and a slice ends early when a byte reaches the host, so in-process host code
//   answers at the very simulated instant the byte arrived (no slice-sized latency is invented).
// - speed = k (finite): k simulated seconds per wall-clock second. Needed as soon as an outside
//   program (avrdude, a terminal) is on the line, because its timeouts and the firmware's are
//   measured in wall-clock time. If the machine cannot keep up, the debt is dropped rather than
//   paid back in a burst, so the node never runs ahead of the wall clock.

import type { SimNode } from '../node.ts';

/** Smallest stretch a paced runner simulates at once. */
const MIN_PACED_SECONDS = 1e-3;

export interface RunnerOptions {
  /** Simulated seconds per wall-clock second; Infinity (default) runs as fast as possible. */
  speed?: number;
  /** Longest simulated stretch run without returning to the event loop; default 5 ms. */
  sliceSeconds?: number;
  /** How far behind the wall clock a paced node may fall before the debt is dropped; default 50 ms. */
  maxLagSeconds?: number;
  /** Called if the simulation throws; the runner has stopped by then. */
  onError?: (err: unknown) => void;
}

export class SimRunner {
  speed: number;
  readonly sliceCycles: number;
  private readonly maxLagSeconds: number;
  private readonly onError: ((err: unknown) => void) | undefined;
  private active = false;
  private timer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private pendingImmediate = false;
  private kicked = false;
  private byteArrived = false;
  private unsubscribe: (() => void) | null = null;
  /** Wall-clock anchor of the paced mode: simulated seconds at wall time t0 (ms). */
  private anchor = { wallMs: 0, simSeconds: 0 };
  private readonly sliceListeners: (() => void)[] = [];
  /** Wall time spent inside node.run, and simulated time covered: the achieved speed. */
  busyMs = 0;
  simulatedSeconds = 0;

  constructor(
    readonly node: SimNode,
    opts: RunnerOptions = {},
  ) {
    this.speed = opts.speed ?? Infinity;
    this.sliceCycles = Math.max(1, Math.round((opts.sliceSeconds ?? 5e-3) * node.clockHz));
    this.maxLagSeconds = opts.maxLagSeconds ?? 0.05;
    this.onError = opts.onError;
  }

  get running(): boolean {
    return this.active;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.unsubscribe = this.node.uart.onData(() => {
      this.byteArrived = true;
    });
    this.reanchor();
    this.schedule(0);
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) {
      clearImmediate(this.timer as NodeJS.Immediate);
      clearTimeout(this.timer as NodeJS.Timeout);
    }
    this.timer = null;
  }

  /**
   * Run the next slice now instead of after the current wait: a link calls this when host
   * bytes arrive, so a paced node answers without waiting out a timer tick.
   */
  kick(): void {
    if (!this.active) return;
    this.kicked = true;
    if (this.timer === null || this.pendingImmediate) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    this.schedule(0);
  }

  /** Change the pace; the simulated clock continues from where it is. */
  setSpeed(speed: number): void {
    this.speed = speed;
    this.reanchor();
  }

  /** Called after every slice (for links that poll node state, e.g. a drain() waiting for the TX queue). */
  onSlice(listener: () => void): () => void {
    this.sliceListeners.push(listener);
    return () => {
      const i = this.sliceListeners.indexOf(listener);
      if (i >= 0) this.sliceListeners.splice(i, 1);
    };
  }

  /** Simulated seconds the node should have reached now (paced mode). */
  private targetSeconds(): number {
    return this.anchor.simSeconds + ((performance.now() - this.anchor.wallMs) / 1000) * this.speed;
  }

  private reanchor(): void {
    this.anchor = { wallMs: performance.now(), simSeconds: this.node.seconds };
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
      this.stop();
      if (this.onError) this.onError(err);
      else throw err;
    }
  }

  /** Runs one slice; returns how long to wait (ms) before the next one. */
  private step(): number {
    const node = this.node;
    let budget = this.sliceCycles;
    if (Number.isFinite(this.speed)) {
      let behind = this.targetSeconds() - node.seconds;
      if (behind > this.maxLagSeconds) {
        // The machine could not keep up: forget the debt instead of bursting to catch up.
        this.anchor = { wallMs: performance.now(), simSeconds: node.seconds + this.maxLagSeconds };
        behind = this.maxLagSeconds;
      }
      // Chasing the wall clock in tiny slices would spin a core: wait until a whole
      // millisecond of simulated time is due (timers have ~1 ms granularity anyway).
      // After a kick, catch up to the wall clock exactly, however little that is.
      const minimum = this.kicked ? 0 : MIN_PACED_SECONDS;
      this.kicked = false;
      if (behind <= minimum) return Math.max(1, Math.min(20, ((MIN_PACED_SECONDS - behind) / this.speed) * 1000));
      budget = Math.min(budget, Math.ceil(behind * node.clockHz));
    }
    this.byteArrived = false;
    const t0 = performance.now();
    const c0 = node.cycles;
    node.runUntil(() => this.byteArrived, budget);
    this.busyMs += performance.now() - t0;
    this.simulatedSeconds += (node.cycles - c0) / node.clockHz;
    for (const l of [...this.sliceListeners]) l();
    return 0;
  }
}
