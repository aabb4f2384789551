// Two ByteLinks joined in-process. With a baud rate the wire is paced on a clock: each
// direction carries one byte every 10 bit times (8N1), so a virtual-clock test sees real line
// occupancy, queueing and the effect of a window; without one, bytes arrive on the next tick.
import { realClock, type Clock } from './clock.ts';
import { Listeners, type ByteLink, type CloseListener, type DataListener } from './link.ts';

export interface LoopbackOptions {
  clock?: Clock;
  /** Line rate in baud (8N1: 10 bits a byte). Omit for an unpaced link. */
  baud?: number;
  /** Extra one-way delay in ms (a USB adapter's latency, a gateway's hop). */
  latencyMs?: number;
  mtu?: number;
  names?: [string, string];
}

class LoopbackEnd implements ByteLink {
  readonly data = new Listeners<DataListener>();
  readonly closed = new Listeners<CloseListener>();
  peer!: LoopbackEnd;
  private lineFreeAt = 0;
  isClosed = false;

  constructor(
    readonly name: string,
    private readonly o: LoopbackOptions,
    readonly clock: Clock,
  ) {}

  get mtu(): number | undefined {
    return this.o.mtu;
  }

  get bytesPerSecond(): number | undefined {
    return this.o.baud ? this.o.baud / 10 : undefined;
  }

  write(bytes: Uint8Array): void {
    if (this.isClosed) return;
    const copy = Uint8Array.from(bytes);
    const now = this.clock.now();
    let at = now;
    if (this.o.baud) {
      const start = Math.max(now, this.lineFreeAt);
      this.lineFreeAt = start + (copy.length * 10_000) / this.o.baud;
      at = this.lineFreeAt;
    }
    at += this.o.latencyMs ?? 0;
    this.clock.setTimer(() => {
      if (!this.peer.isClosed) this.peer.data.emit(copy);
    }, at - now);
  }

  onData(l: DataListener): () => void {
    return this.data.add(l);
  }

  onClose(l: CloseListener): () => void {
    return this.closed.add(l);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closed.emit();
    this.peer.isClosed = true;
    this.peer.closed.emit();
  }
}

/** Returns [host end, node end]. */
export function loopbackPair(o: LoopbackOptions = {}): [ByteLink, ByteLink] {
  const clock = o.clock ?? realClock;
  const [na, nb] = o.names ?? ['loopback:host', 'loopback:node'];
  const a = new LoopbackEnd(na, o, clock);
  const b = new LoopbackEnd(nb, o, clock);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
