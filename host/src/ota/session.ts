// Request and reply over a byte link: every request carries a sequence number, its reply
// echoes it with REPLY_BIT set. A request whose reply does not come within the timeout is sent
// again (every request is idempotent on the node), a BUSY reply is retried after a pause, and
// a reply to an older request is ignored. Frames nobody waits for (acks) go to listeners.
import { FrameDecoder, REPLY_BIT, Status, encodeFrame, type Frame } from '../../../protocol/ts/index.ts';
import { realClock, sleep, type Clock, type TimerHandle } from '../transport/clock.ts';
import type { ByteLink } from '../transport/link.ts';
import { OtaError, msgName } from './errors.ts';

export interface RetryOptions {
  /** Wait for one reply, in ms of the link's clock. */
  timeoutMs?: number;
  /** Attempts after the first before giving up with "no reply". */
  retries?: number;
  /** BUSY replies tolerated, each followed by busyDelayMs. */
  busyRetries?: number;
  busyDelayMs?: number;
}

export interface SessionOptions extends RetryOptions {
  clock?: Clock;
}

export interface SessionStats {
  requests: number;
  resent: number;
  timeouts: number;
  busy: number;
  framesIn: number;
  framesOut: number;
}

/** Quiet time after which a partial frame is abandoned (WIRE.md: the host uses 20 ms). */
export const IDLE_RESYNC_MS = 20;

interface Waiter {
  type: number;
  seq: number;
  resolve: (f: Frame) => void;
}

export class Session {
  readonly clock: Clock;
  readonly defaults: Required<RetryOptions>;
  readonly stats: SessionStats = { requests: 0, resent: 0, timeouts: 0, busy: 0, framesIn: 0, framesOut: 0 };
  private readonly decoder = new FrameDecoder();
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(f: Frame) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private seq = 0;
  private idleTimer: TimerHandle | null = null;
  private closedBecause: Error | null = null;

  constructor(readonly link: ByteLink, o: SessionOptions = {}) {
    this.clock = o.clock ?? link.clock ?? realClock;
    this.defaults = {
      timeoutMs: o.timeoutMs ?? defaultTimeout(link),
      retries: o.retries ?? 4,
      busyRetries: o.busyRetries ?? 20,
      busyDelayMs: o.busyDelayMs ?? 50,
    };
    this.unsubscribe.push(link.onData((b) => this.receive(b)));
    this.unsubscribe.push(link.onClose((err) => {
      this.closedBecause = new OtaError(`the link ${link.name} closed${err ? `: ${err.message}` : ''}`, 'link-closed', 'link');
    }));
  }

  get decoderStats(): { garbage: number; crcErrors: number } {
    return { garbage: this.decoder.garbage, crcErrors: this.decoder.crcErrors };
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) & 0xff;
    return this.seq;
  }

  /** Sends one frame now; no reply is awaited. */
  send(type: number, seq: number, payload: Uint8Array): void {
    if (this.closedBecause) throw this.closedBecause;
    this.stats.framesOut++;
    this.link.write(encodeFrame({ type, seq, payload }));
  }

  /** Listens to every frame no request is waiting for. */
  onFrame(l: (f: Frame) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Sends a request and resolves with its reply (any status: the caller judges it, except BUSY). */
  async request(type: number, payload: Uint8Array, o: RetryOptions = {}): Promise<Frame> {
    const { timeoutMs, retries, busyRetries, busyDelayMs } = { ...this.defaults, ...o };
    this.stats.requests++;
    let busy = 0;
    for (let attempt = 0; attempt <= retries; ) {
      const seq = this.nextSeq();
      if (attempt > 0) this.stats.resent++;
      const reply = await this.exchange(type, seq, payload, timeoutMs);
      if (!reply) { attempt++; this.stats.timeouts++; continue; }
      if (reply.payload[0] === Status.BUSY && busy < busyRetries) {
        busy++;
        this.stats.busy++;
        await sleep(this.clock, busyDelayMs);
        continue;
      }
      return reply;
    }
    throw new OtaError(
      `no reply to ${msgName(type)} from ${this.link.name} after ${retries + 1} attempts (${timeoutMs} ms each): is the node powered, running a stageboot sketch or bootloader, and at this baud rate?`,
      'no-reply', 'link', { request: msgName(type), attempts: retries + 1, timeoutMs },
    );
  }

  /** One attempt: the reply, or null on timeout. */
  private exchange(type: number, seq: number, payload: Uint8Array, timeoutMs: number): Promise<Frame | null> {
    return new Promise((resolve, reject) => {
      if (this.closedBecause) { reject(this.closedBecause); return; }
      const w: Waiter = {
        type: type | REPLY_BIT, seq,
        resolve: (f) => { this.clock.clearTimer(timer); this.waiters.delete(w); resolve(f); },
      };
      const timer = this.clock.setTimer(() => { this.waiters.delete(w); resolve(null); }, timeoutMs);
      this.waiters.add(w);
      try {
        this.send(type, seq, payload);
      } catch (err) {
        this.clock.clearTimer(timer);
        this.waiters.delete(w);
        reject(err);
      }
    });
  }

  private receive(bytes: Uint8Array): void {
    this.dispatch(this.decoder.push(bytes));
    if (this.idleTimer) this.clock.clearTimer(this.idleTimer);
    this.idleTimer = null;
    if (this.decoder.pending) {
      this.idleTimer = this.clock.setTimer(() => { this.idleTimer = null; this.dispatch(this.decoder.idle()); }, IDLE_RESYNC_MS);
    }
  }

  private dispatch(frames: Frame[]): void {
    for (const f of frames) {
      this.stats.framesIn++;
      const w = [...this.waiters].find((x) => x.type === f.type && x.seq === f.seq);
      if (w) { w.resolve(f); continue; }
      for (const l of [...this.listeners]) l(f);
    }
  }

  close(): void {
    if (this.idleTimer) this.clock.clearTimer(this.idleTimer);
    for (const u of this.unsubscribe) u();
  }
}

/** A reply to a short request comes within a few frame times; allow for a slow USB adapter. */
function defaultTimeout(link: ByteLink): number {
  const bps = link.bytesPerSecond ?? 11_520;
  return Math.max(250, Math.round((2 * 260 * 1000) / bps) + 100);
}
