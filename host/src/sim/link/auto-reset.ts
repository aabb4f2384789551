// The Arduino auto-reset circuit for links that have no DTR line (a pseudo-terminal).
//
// On a real board, opening the port pulls DTR and a capacitor turns that edge into a RESET
// pulse, so a programmer always meets a freshly started bootloader. A pty carries no modem
// lines, so the start of a session is inferred instead: the first byte from the host after a
// quiet spell resets the node (MCUSR.EXTRF, as the RESET pin would).
//
// The quiet spell defaults to 400 ms. avrdude's arduino programmer resends its sync every
// ~250 ms while it drains the line, and a new avrdude run sends its first byte only after
// ~480 ms of open/sleep/drain; 400 ms lies between the two, so one avrdude session is one reset.
//
// On silicon the reset precedes the host's first byte by the programmer's sleep, so the byte
// meets a bootloader that has already set up its UART. Here the reset is only known when the
// byte arrives, so the byte is held back until the restarted firmware enables its receiver
// (at most `holdSeconds` of simulated time), which reproduces that order of events.

import type { SimNode } from '../node.ts';

export interface AutoResetOptions {
  /** Silence from the host (wall-clock seconds) after which the next byte starts a session. */
  quietSeconds?: number;
  /** Longest the first bytes wait (simulated seconds) for the firmware to enable its receiver. */
  holdSeconds?: number;
  /** Wall clock in ms (injectable for tests); default performance.now(). */
  nowMs?: () => number;
  /** Told about each session start. */
  onReset?: (info: { sessions: number; quietMs: number }) => void;
}

export class QuietSpellReset {
  /** Sessions started (resets issued) so far. */
  sessions = 0;
  private lastByteMs = -Infinity;
  private readonly quietMs: number;
  private readonly holdCycles: number;
  private readonly nowMs: () => number;
  private readonly onReset: AutoResetOptions['onReset'];

  constructor(
    private readonly node: SimNode,
    opts: AutoResetOptions = {},
  ) {
    this.quietMs = (opts.quietSeconds ?? 0.4) * 1000;
    this.holdCycles = Math.round((opts.holdSeconds ?? 0.1) * node.clockHz);
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.onReset = opts.onReset;
  }

  /** Hand bytes from the host to the node, resetting it first if they start a session. */
  hostBytes(bytes: Uint8Array): void {
    const now = this.nowMs();
    const quiet = now - this.lastByteMs;
    this.lastByteMs = now;
    if (quiet >= this.quietMs) this.startSession(quiet);
    this.node.uart.write(bytes);
  }

  private startSession(quietMs: number): void {
    this.sessions++;
    resetAndAwaitReceiver(this.node, this.holdCycles);
    this.onReset?.({ sessions: this.sessions, quietMs: Number.isFinite(quietMs) ? quietMs : -1 });
  }
}

/**
 * External reset, then run the node until its firmware enables the USART receiver (or
 * `holdCycles` pass): the moment a host that had just pulsed RESET would start sending.
 */
export function resetAndAwaitReceiver(node: SimNode, holdCycles: number): void {
  node.reset('external');
  node.runUntil(() => node.receiver()?.rxEnabled ?? false, holdCycles, 64);
}
