// A link wrapper that misbehaves on purpose: it drops, corrupts, duplicates and reorders whole
// frames, and can go down and come back, in either direction. Tests use it to prove the
// protocol client survives a lossy link; a radio gateway has the same failure modes and a
// small MTU, which `mtu` imitates (frames longer than it are lost, as a radio would).
import { seededRng } from '../util/rng.ts';
import { realClock, type Clock, type TimerHandle } from './clock.ts';
import { FrameSplitter, frameHeaderOf, type Unit } from './framing.ts';
import { Listeners, type ByteLink, type CloseListener, type DataListener } from './link.ts';

/** 'toNode': what the host writes; 'toHost': what the node sends back. */
export type Direction = 'toNode' | 'toHost';
export type FaultKind = 'drop' | 'corrupt' | 'duplicate' | 'reorder';

export interface FaultRates {
  drop?: number;
  corrupt?: number;
  duplicate?: number;
  reorder?: number;
}

export interface FrameView {
  type: number;
  seq: number;
  /** The whole encoded frame (payload from offset FRAME_HEADER). */
  bytes: Uint8Array;
}

export interface FaultOptions extends FaultRates {
  seed?: number;
  /** Per-direction rates; override the shared ones. */
  toNode?: FaultRates;
  toHost?: FaultRates;
  /** Only frames for which this returns true are subject to random faults. */
  only?: (frame: FrameView, dir: Direction) => boolean;
  /** Deterministic faults: called for every frame (n counts frames per direction from 0). */
  plan?: (frame: FrameView, dir: Direction, n: number) => FaultKind | undefined;
  /** Largest frame carried; longer ones are dropped and counted. */
  mtu?: number;
  /** How long a reordered frame waits for a successor before it is sent anyway. */
  holdMs?: number;
  clock?: Clock;
}

export interface FaultStats {
  frames: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
  tooBig: number;
  lostWhileDown: number;
}

const emptyStats = (): FaultStats => ({ frames: 0, dropped: 0, corrupted: 0, duplicated: 0, reordered: 0, tooBig: 0, lostWhileDown: 0 });

class Lane {
  private readonly splitter = new FrameSplitter();
  private held: { bytes: Uint8Array; timer: TimerHandle } | null = null;
  private idleTimer: TimerHandle | null = null;
  n = 0;
  readonly stats = emptyStats();

  constructor(
    private readonly dir: Direction,
    private readonly owner: FaultyLink,
    private readonly deliver: (bytes: Uint8Array) => void,
  ) {}

  feed(bytes: Uint8Array): void {
    if (this.owner.isDown) { this.stats.lostWhileDown += bytes.length; return; }
    for (const u of this.splitter.push(bytes)) this.unit(u);
    // A partial frame that never completes (a torn frame, a stray SOF) must not hold back
    // what follows it for ever: pass it on once the line has been quiet.
    const clock = this.owner.clock;
    if (this.idleTimer) clock.clearTimer(this.idleTimer);
    this.idleTimer = clock.setTimer(() => {
      this.idleTimer = null;
      for (const u of this.splitter.flush()) this.unit(u);
    }, 20);
  }

  private unit(u: Unit): void {
    if (!u.frame) { this.deliver(u.bytes); return; }
    this.stats.frames++;
    const o = this.owner.options;
    if (o.mtu !== undefined && u.bytes.length > o.mtu) { this.stats.tooBig++; return; }
    const view: FrameView = { ...frameHeaderOf(u.bytes), bytes: u.bytes };
    const fault = this.choose(view);
    this.n++;
    switch (fault) {
      case 'drop': this.stats.dropped++; return;
      case 'corrupt': this.stats.corrupted++; this.send(this.corrupt(u.bytes)); return;
      case 'duplicate': this.stats.duplicated++; this.send(u.bytes); this.send(u.bytes); return;
      case 'reorder': this.hold(u.bytes); return;
      default: this.send(u.bytes);
    }
  }

  private choose(view: FrameView): FaultKind | undefined {
    const o = this.owner.options;
    const planned = o.plan?.(view, this.dir, this.n);
    if (planned) return planned;
    if (o.only && !o.only(view, this.dir)) return undefined;
    const rates = { ...pick(o), ...(o[this.dir] ?? {}) };
    const r = this.owner.random();
    let acc = 0;
    for (const k of ['drop', 'corrupt', 'duplicate', 'reorder'] as const) {
      acc += rates[k] ?? 0;
      if (r < acc) return k;
    }
    return undefined;
  }

  private corrupt(bytes: Uint8Array): Uint8Array {
    const copy = Uint8Array.from(bytes);
    const i = 1 + Math.floor(this.owner.random() * (copy.length - 1));
    copy[i] ^= 1 << Math.floor(this.owner.random() * 8);
    return copy;
  }

  /** Sends a frame, then any frame held back for reordering, so the two swap places. */
  private send(bytes: Uint8Array): void {
    this.deliver(bytes);
    if (this.held) {
      const h = this.held;
      this.held = null;
      this.owner.clock.clearTimer(h.timer);
      this.stats.reordered++;
      this.deliver(h.bytes);
    }
  }

  private hold(bytes: Uint8Array): void {
    if (this.held) this.send(new Uint8Array(0)); // release the older one first
    const timer = this.owner.clock.setTimer(() => {
      if (this.held?.bytes === bytes) {
        this.held = null;
        this.deliver(bytes);
      }
    }, this.owner.options.holdMs ?? 50);
    this.held = { bytes, timer };
  }
}

function pick(o: FaultRates): FaultRates {
  return { drop: o.drop, corrupt: o.corrupt, duplicate: o.duplicate, reorder: o.reorder };
}

export class FaultyLink implements ByteLink {
  readonly name: string;
  readonly clock: Clock;
  readonly random: () => number;
  isDown = false;
  private readonly data = new Listeners<DataListener>();
  private readonly toNode: Lane;
  private readonly toHost: Lane;
  private readonly unsubscribe: () => void;

  constructor(
    readonly inner: ByteLink,
    readonly options: FaultOptions = {},
  ) {
    this.name = `${inner.name} (with faults)`;
    this.clock = options.clock ?? inner.clock ?? realClock;
    this.random = seededRng(options.seed ?? 1);
    this.toNode = new Lane('toNode', this, (b) => { if (b.length) inner.write(b); });
    this.toHost = new Lane('toHost', this, (b) => { if (b.length) this.data.emit(b); });
    this.unsubscribe = inner.onData((b) => this.toHost.feed(b));
  }

  get mtu(): number | undefined {
    return this.options.mtu ?? this.inner.mtu;
  }

  get bytesPerSecond(): number | undefined {
    return this.inner.bytesPerSecond;
  }

  stats(): Record<Direction, FaultStats> {
    return { toNode: { ...this.toNode.stats }, toHost: { ...this.toHost.stats } };
  }

  /** The link goes dead both ways (a cable pulled, a radio out of range). */
  down(): void {
    this.isDown = true;
  }

  up(): void {
    this.isDown = false;
  }

  write(bytes: Uint8Array): void {
    this.toNode.feed(bytes);
  }

  onData(l: DataListener): () => void {
    return this.data.add(l);
  }

  onClose(l: CloseListener): () => void {
    return this.inner.onClose(l);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.inner.close();
  }
}
