// The windowed DATA transfer (protocol/WIRE.md "A transfer", step 3).
//
// Chunks are pipelined: at most `window` frames are unacknowledged at a time, and never a chunk
// at or beyond cumulative + window (the node drops those unacknowledged). Each ack carries the
// node's cumulative and selective state plus the sequence number of the DATA frame it answers.
// Because every transmission gets its own sequence number, an ack says exactly which send it
// answers: any chunk sent *before* that one and still unacknowledged was lost (or corrupted)
// and is resent at once, once per round. When no ack brings progress within the
// retransmission timeout (estimated from measured ack times, as TCP does), everything in
// flight is presumed lost and resent from the lowest hole, with the timeout doubled.
import { ACK_WINDOW, Msg, REPLY_BIT, Status, decodeStruct, encodeStruct, layouts, type AckReply, type Frame } from '../../../protocol/ts/index.ts';
import type { TimerHandle } from '../transport/clock.ts';
import { OtaError, refusal } from './errors.ts';
import type { Session } from './session.ts';

export interface TransferProgress {
  /** Payload bytes the node has acknowledged (written or on their way to the EEPROM). */
  ackedBytes: number;
  totalBytes: number;
  /** Payload bytes sent, resends included. */
  sentBytes: number;
  resentChunks: number;
}

export interface TransferOptions {
  payload: Uint8Array;
  chunkSize: number;
  /** First chunk the node needs (BEGIN's resumeChunk). */
  startChunk: number;
  /** The node's window (InfoReply.window). */
  window: number;
  /** Retransmission timeout before any ack was measured. */
  initialRtoMs?: number;
  minRtoMs?: number;
  maxRtoMs?: number;
  /** Consecutive timeouts without progress before giving up with "no reply". */
  stallRetries?: number;
  onProgress?: (p: TransferProgress) => void;
}

export interface TransferResult {
  chunks: number;
  /** DATA frames sent, resends included. */
  framesSent: number;
  resentChunks: number;
  timeouts: number;
  duplicateAcks: number;
  /** Time from the first DATA frame to the last ack, on the link's clock. */
  elapsedMs: number;
  /** Payload bytes that were actually transferred in this call (resumed chunks excluded). */
  bytes: number;
  /** Final retransmission timeout: what the estimator learned. */
  rtoMs: number;
}

interface SendRecord {
  chunk: number;
  tx: number;
  at: number;
}

export function chunkCount(length: number, chunkSize: number): number {
  return Math.ceil(length / chunkSize);
}

export function sendChunks(session: Session, o: TransferOptions): Promise<TransferResult> {
  return new Transfer(session, o).run();
}

class Transfer {
  private readonly n: number;
  private readonly win: number;
  private readonly acked: Uint8Array;
  private readonly lastTx: Float64Array;
  private readonly outstanding = new Set<number>();
  private readonly lost = new Set<number>();
  private readonly bySeq = new Map<number, SendRecord>();
  private cum: number;
  private next: number;
  private tx = 0;
  private srtt = 0;
  private rttvar = 0;
  private rto: number;
  private stalls = 0;
  private timer: TimerHandle | null = null;
  private readonly result: TransferResult;
  private readonly started: number;
  private sentBytes = 0;
  private finish!: (r: TransferResult) => void;
  private fail!: (e: Error) => void;
  private done = false;

  constructor(private readonly s: Session, private readonly o: TransferOptions) {
    if (o.chunkSize < 1) throw new OtaError(`chunk size ${o.chunkSize} is not usable`, 'bad-chunk');
    this.n = chunkCount(o.payload.length, o.chunkSize);
    this.win = Math.max(1, Math.min(o.window, ACK_WINDOW + 1));
    this.acked = new Uint8Array(this.n);
    this.lastTx = new Float64Array(this.n).fill(-1);
    this.cum = Math.min(o.startChunk, this.n);
    this.acked.fill(1, 0, this.cum);
    this.next = this.cum;
    this.rto = o.initialRtoMs ?? 1000;
    this.started = s.clock.now();
    this.result = { chunks: this.n, framesSent: 0, resentChunks: 0, timeouts: 0, duplicateAcks: 0, elapsedMs: 0, bytes: 0, rtoMs: 0 };
  }

  run(): Promise<TransferResult> {
    return new Promise((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
      if (this.cum >= this.n) { this.complete(); return; }
      const off = this.s.onFrame((f) => this.onFrame(f));
      const stop = () => { off(); if (this.timer) this.s.clock.clearTimer(this.timer); };
      this.finish = (r) => { stop(); resolve(r); };
      this.fail = (e) => { stop(); reject(e); };
      this.pump();
    });
  }

  private get limit(): number {
    return Math.min(this.n, this.cum + this.win);
  }

  private pump(): void {
    while (!this.done && this.outstanding.size < this.win) {
      const c = this.pickChunk();
      if (c === undefined) break;
      this.sendChunk(c);
    }
    if (this.outstanding.size > 0 && !this.timer) this.armTimer();
  }

  private pickChunk(): number | undefined {
    let best: number | undefined;
    for (const c of this.lost) if (c < this.limit && (best === undefined || c < best)) best = c;
    if (best !== undefined) return best;
    while (this.next < this.limit && this.acked[this.next]) this.next++;
    return this.next < this.limit ? this.next++ : undefined;
  }

  private sendChunk(c: number): void {
    const { payload, chunkSize } = this.o;
    const data = payload.subarray(c * chunkSize, Math.min(payload.length, (c + 1) * chunkSize));
    const seq = this.s.nextSeq();
    if (this.lastTx[c] >= 0) this.result.resentChunks++;
    this.lost.delete(c);
    this.lastTx[c] = this.tx;
    this.bySeq.set(seq, { chunk: c, tx: this.tx++, at: this.s.clock.now() });
    this.outstanding.add(c);
    this.result.framesSent++;
    this.sentBytes += data.length;
    try {
      this.s.send(Msg.DATA, seq, encodeStruct('DataRequest', { chunk: c, data }));
    } catch (err) {
      this.stop(err as Error);
    }
  }

  private onFrame(f: Frame): void {
    if (this.done || f.type !== (Msg.DATA | REPLY_BIT)) return;
    if (f.payload.length < layouts.AckReply.size || f.payload[0] !== Status.OK) {
      const status = f.payload[0] ?? Status.BAD_FRAME;
      if (status === Status.BUSY) return; // the node will ack when it can; the timer covers loss
      const e = refusal(Msg.DATA, status, `of chunk ${this.bySeq.get(f.seq)?.chunk ?? '?'}`);
      this.stop(status === Status.NOT_RECEIVING ? new OtaError(e.message, 'not-receiving', 'refused', e.details) : e);
      return;
    }
    const ack = decodeStruct('AckReply', f.payload);
    const progressed = this.applyAck(ack);
    const rec = this.bySeq.get(f.seq);
    if (rec) {
      this.bySeq.delete(f.seq);
      this.sampleRtt(this.s.clock.now() - rec.at);
      // Anything sent before the frame this ack answers and still unacknowledged was lost.
      for (const c of [...this.outstanding]) {
        if (this.lastTx[c] < rec.tx) { this.outstanding.delete(c); this.lost.add(c); }
      }
    }
    if (!progressed) this.result.duplicateAcks++;
    if (this.cum >= this.n) { this.complete(); return; }
    if (progressed) {
      this.stalls = 0;
      this.rearm();
    }
    this.pump();
  }

  /** Marks what the ack covers; true when it acknowledged something new. */
  private applyAck(ack: AckReply): boolean {
    let fresh = false;
    const mark = (c: number) => {
      if (c >= this.n || this.acked[c]) return;
      this.acked[c] = 1;
      this.outstanding.delete(c);
      this.lost.delete(c);
      fresh = true;
    };
    for (let c = this.cum; c < Math.min(ack.cumulative, this.n); c++) mark(c);
    for (let i = 0; i < 16; i++) if (ack.selective & (1 << i)) mark(ack.cumulative + 1 + i);
    while (this.cum < this.n && this.acked[this.cum]) this.cum++;
    if (fresh) this.report();
    return fresh;
  }

  private sampleRtt(r: number): void {
    if (this.srtt === 0) { this.srtt = r; this.rttvar = r / 2; }
    else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = clamp(this.srtt + 4 * this.rttvar, this.o.minRtoMs ?? 100, this.o.maxRtoMs ?? 5000);
  }

  private armTimer(): void {
    this.timer = this.s.clock.setTimer(() => this.onTimeout(), this.rto);
  }

  private rearm(): void {
    if (this.timer) this.s.clock.clearTimer(this.timer);
    this.timer = null;
    if (this.outstanding.size > 0) this.armTimer();
  }

  private onTimeout(): void {
    this.timer = null;
    if (this.done) return;
    this.result.timeouts++;
    if (++this.stalls > (this.o.stallRetries ?? 6)) {
      const at = this.cum * this.o.chunkSize;
      this.stop(new OtaError(
        `no acknowledgement from ${this.s.link.name} for ${this.stalls} timeouts in a row (transfer stopped at byte ${at} of ${this.o.payload.length})`,
        'no-reply', 'link', { ackedBytes: at },
      ));
      return;
    }
    // Presume everything in flight lost; resend from the lowest hole, slower.
    for (const c of this.outstanding) this.lost.add(c);
    this.outstanding.clear();
    this.rto = Math.min(this.rto * 2, this.o.maxRtoMs ?? 5000);
    this.pump();
  }

  private ackedBytes(): number {
    const { chunkSize, payload } = this.o;
    let n = 0;
    for (let c = 0; c < this.n; c++) if (this.acked[c]) n += Math.min(chunkSize, payload.length - c * chunkSize);
    return n;
  }

  private report(): void {
    this.o.onProgress?.({ ackedBytes: this.ackedBytes(), totalBytes: this.o.payload.length, sentBytes: this.sentBytes, resentChunks: this.result.resentChunks });
  }

  private complete(): void {
    this.done = true;
    this.result.elapsedMs = this.s.clock.now() - this.started;
    this.result.bytes = Math.max(0, this.o.payload.length - Math.min(this.o.startChunk * this.o.chunkSize, this.o.payload.length));
    this.result.rtoMs = this.rto;
    this.finish(this.result);
  }

  private stop(e: Error): void {
    if (this.done) return;
    this.done = true;
    this.fail(e);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
