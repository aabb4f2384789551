// The host end of the node's serial line (USART0's RXD/TXD), in simulated time.
// The host sends at its own baud rate (`baud`): bytes go out back to back, each frame taking
// (1 + data + stop bits) / baud seconds, and the node's receiver samples them with its own
// UBRR0/U2X0 timing, so a mismatched rate garbles bytes as on a real wire. Bytes the node sends
// are sampled at the host's baud and handed to onData listeners when their stop bit ends.
// Optional SerialFaults transform both directions.

import { sampleFrame, FORMAT_8N1, type FrameFormat } from './chip/uart-frame.ts';
import type { Usart0, UsartCounters } from './chip/usart.ts';
import type { Scheduler } from './scheduler.ts';
import type { SerialFaults } from './serial-faults.ts';

/** What the host end needs from the board. */
export interface UartWire {
  readonly clockHz: number;
  readonly cycles: number;
  readonly scheduler: Scheduler;
  /** The live receiver, or null while the chip is unpowered or held in reset. */
  receiver(): Usart0 | null;
  /** Ask the run loop to return to the board (so runUntil predicates see new data). */
  wake(): void;
}

export type DataListener = (bytes: Uint8Array) => void;

export class HostUart {
  /** The host side's baud rate. */
  baud: number;
  format: FrameFormat = FORMAT_8N1;
  faults: SerialFaults | null = null;
  /** Bytes the host put on the wire / received, after faults. */
  bytesSent = 0;
  bytesReceived = 0;

  private readonly chunks: Uint8Array[] = [];
  private chunkPos = 0;
  private sending = false;
  private readonly listeners: DataListener[] = [];
  /** Node->host bytes delayed by a fault are delivered in order after this cycle. */
  private rxFreeAt = 0;

  constructor(
    private readonly wire: UartWire,
    readonly counters: UsartCounters,
    baud = 115200,
  ) {
    this.baud = baud;
  }

  /** Host bit time in CPU cycles (fractional). */
  get bitCycles(): number {
    return this.wire.clockHz / this.baud;
  }

  /** Frames lost to receive overruns in the node (all resets included). */
  get overruns(): number {
    return this.counters.overruns;
  }

  /** Bytes written but not yet fully on the wire. */
  get queued(): number {
    let n = -this.chunkPos;
    for (const c of this.chunks) n += c.length;
    return n + (this.sending ? 1 : 0);
  }

  /** Queue bytes for the node. They start at the current simulated time, after earlier bytes. */
  write(data: Uint8Array | readonly number[] | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : Uint8Array.from(data);
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    if (!this.sending) this.startNext(this.wire.cycles);
  }

  /** Subscribe to bytes from the node; returns an unsubscribe function. */
  onData(listener: DataListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Drop everything not yet sent (e.g. the host closed the port). */
  flush(): void {
    this.chunks.length = 0;
    this.chunkPos = 0;
  }

  /** Called by the board when the node's transmitter finishes a frame. */
  fromNode(byte: number, nodeBitCycles: number, format: FrameFormat): void {
    const { value } = sampleFrame(byte, nodeBitCycles, this.bitCycles, format);
    const now = this.wire.cycles;
    const out = this.faults ? this.faults.apply('to-host', value, now / this.wire.clockHz) : { bytes: [value], delaySeconds: 0 };
    if (out.bytes.length === 0) return;
    const at = Math.max(now + out.delaySeconds * this.wire.clockHz, this.rxFreeAt);
    if (at <= now) return this.deliver(out.bytes);
    this.rxFreeAt = at;
    this.wire.scheduler.schedule(at, () => this.deliver(out.bytes));
  }

  private deliver(bytes: readonly number[]): void {
    this.bytesReceived += bytes.length;
    const data = Uint8Array.from(bytes);
    for (const l of [...this.listeners]) l(data);
    this.wire.wake();
  }

  private nextByte(): number | undefined {
    while (this.chunks.length) {
      const c = this.chunks[0];
      if (this.chunkPos < c.length) return c[this.chunkPos++];
      this.chunks.shift();
      this.chunkPos = 0;
    }
    return undefined;
  }

  /** Put the next queued byte on the wire at cycle `at` (fractional cycles keep the rate exact). */
  private startNext(at: number): void {
    const byte = this.nextByte();
    if (byte === undefined) {
      this.sending = false;
      return;
    }
    this.sending = true;
    const out = this.faults ? this.faults.apply('to-node', byte, at / this.wire.clockHz) : { bytes: [byte], delaySeconds: 0 };
    const start = at + out.delaySeconds * this.wire.clockHz;
    this.sendFrames(out.bytes, start);
  }

  private sendFrames(bytes: readonly number[], start: number): void {
    const frameCycles = this.bitCycles * (1 + this.format.dataBits + this.format.stopBits);
    if (bytes.length === 0) {
      this.wire.scheduler.schedule(start, () => this.startNext(start));
      return;
    }
    const [byte, ...rest] = bytes;
    this.wire.scheduler.schedule(start, () => {
      this.wire.receiver()?.rxStartBit();
      const end = start + frameCycles;
      this.wire.scheduler.schedule(end, () => {
        this.bytesSent++;
        this.wire.receiver()?.rxFrame(byte, this.bitCycles);
        if (rest.length) this.sendFrames(rest, end);
        else this.startNext(end);
      });
    });
  }
}
