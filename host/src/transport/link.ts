// The byte link under the protocol, shaped like node-serialport's swappable bindings: the
// protocol client only needs to write bytes, hear bytes and close. A serial port, a pty, a
// simulated node's UART, an in-process loopback and (later) a radio gateway all fit.
import type { Clock } from './clock.ts';

export type DataListener = (bytes: Uint8Array) => void;
export type CloseListener = (err?: Error) => void;

export interface ByteLink {
  /** What the user named (a port path, a sim: URL), for messages. */
  readonly name: string;
  /** Queues bytes for sending. One call carries one whole frame (fault injection relies on it). */
  write(bytes: Uint8Array): void;
  /** Subscribes to received bytes; returns the unsubscribe function. */
  onData(listener: DataListener): () => void;
  /** Subscribes to the link going away (port unplugged, simulation stopped). */
  onClose(listener: CloseListener): () => void;
  close(): Promise<void>;
  /** Largest frame the link carries in one piece (a radio's MTU); undefined for a byte stream. */
  readonly mtu?: number;
  /** Payload bytes per second the link can carry, when known (e.g. baud / 10 for 8N1). */
  readonly bytesPerSecond?: number;
  /** The time line the far end lives on (a simulated node's clock); the wall clock if absent. */
  readonly clock?: Clock;
}

/** Fan-out helper for link implementations. */
export class Listeners<F extends (...args: never[]) => void> {
  private readonly set = new Set<F>();
  add(f: F): () => void {
    this.set.add(f);
    return () => this.set.delete(f);
  }
  emit(...args: Parameters<F>): void {
    for (const f of [...this.set]) f(...args);
  }
  get size(): number {
    return this.set.size;
  }
}
