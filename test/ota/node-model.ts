// A small in-test node that follows the node's side of protocol/WIRE.md: enough to exercise the
// HOST's request/retry and window/retransmission logic under faults. It is not the product's
// node (that is sketch-lib on the simulated ATmega328P, tested in test/e2e/); it keeps slot
// data in plain arrays and models the EEPROM only as time spent per chunk.
import {
  ACK_WINDOW, BootState, FrameDecoder, Msg, NO_SLOT, PROTOCOL_VERSION, REPLY_BIT, SlotRole, SlotState, Status,
  crc32, decodeHeader, decodeStruct, encodeFrame, encodeHeader, encodeRecord, encodeStruct, type Frame, type ImageHeader,
} from '../../protocol/ts/index.ts';
import type { Clock } from '../../host/src/transport/clock.ts';
import type { ByteLink } from '../../host/src/transport/link.ts';

export interface ModelOptions {
  signature?: number[];
  slots?: number;
  capacity?: number;
  appMax?: number;
  maxChunk?: number;
  window?: number;
  /** Time the node spends taking one DATA frame (its EEPROM writes), in ms. */
  chunkMs?: (bytes: number) => number;
}

interface Slot {
  state: number;
  progress: number;
  header: ImageHeader | null;
  data: Uint8Array;
}

export class NodeModel {
  readonly o: Required<ModelOptions>;
  readonly slots: Slot[];
  /** Every DATA chunk index received (after the link), for assertions about the host. */
  readonly dataLog: { chunk: number; cum: number }[] = [];
  rewrites = 0;
  begins = 0;
  busyReplies = 0;
  /** Make the next n requests of this type answer BUSY. */
  busy = new Map<number, number>();
  /** Lose the replies to the next n requests of this type (the request itself is taken). */
  loseReply = new Map<number, number>();
  silent = false;
  corruptOnWrite: number | null = null;
  boot = { state: BootState.IDLE as number, current: NO_SLOT as number, pending: NO_SLOT as number };
  private session: { slot: number; chunkSize: number; cum: number; got: Set<number> } | null = null;
  private readonly decoder = new FrameDecoder();
  private busyUntil = 0;

  private link: ByteLink;

  constructor(link: ByteLink, private readonly clock: Clock, o: ModelOptions = {}) {
    this.link = link;
    this.o = {
      signature: o.signature ?? [0x1e, 0x95, 0x0f], slots: o.slots ?? 2, capacity: o.capacity ?? 32_320,
      appMax: o.appMax ?? 0x7000, maxChunk: o.maxChunk ?? 128, window: o.window ?? 4, chunkMs: o.chunkMs ?? (() => 0),
    };
    this.slots = Array.from({ length: this.o.slots }, () => ({ state: SlotState.EMPTY, progress: 0, header: null, data: new Uint8Array(this.o.capacity).fill(0xff) }));
    this.relink(link);
  }

  /** Attaches the node to a new link (the host reopened its port); its state stays. */
  relink(link: ByteLink): void {
    this.link = link;
    link.onData((b) => { for (const f of this.decoder.push(b)) this.take(f); });
  }

  /** A reset: RAM (the transfer session) is lost, the "EEPROM" (slots) stays. */
  reset(): void {
    this.session = null;
  }

  private reply(f: Frame, payload: Uint8Array): void {
    const lose = this.loseReply.get(f.type) ?? 0;
    if (lose > 0) { this.loseReply.set(f.type, lose - 1); return; }
    this.link.write(encodeFrame({ type: f.type | REPLY_BIT, seq: f.seq, payload }));
  }

  private status(f: Frame, status: number): void {
    this.reply(f, Uint8Array.of(status));
  }

  /** Frames are taken one after another; a DATA frame keeps the node busy for chunkMs. */
  private take(f: Frame): void {
    if (this.silent) return;
    const cost = f.type === Msg.DATA ? this.o.chunkMs(f.payload.length - 2) : 0;
    const start = Math.max(this.clock.now(), this.busyUntil);
    this.busyUntil = start + cost;
    if (this.busyUntil <= this.clock.now()) this.handle(f);
    else this.clock.setTimer(() => this.handle(f), this.busyUntil - this.clock.now());
  }

  private handle(f: Frame): void {
    const b = this.busy.get(f.type) ?? 0;
    if (b > 0) { this.busy.set(f.type, b - 1); this.busyReplies++; this.status(f, Status.BUSY); return; }
    switch (f.type) {
      case Msg.INFO: return this.reply(f, encodeStruct('InfoReply', {
        status: Status.OK, protocol: PROTOCOL_VERSION, signature: Uint8Array.from(this.o.signature), bootState: this.boot.state,
        blVersion: 0x0100, flashSize: 32768, appMax: this.o.appMax, chipSize: 65536, pageSize: 128, slotCount: this.o.slots,
        current: this.boot.current, maxChunk: this.o.maxChunk, window: this.o.window, result: 0, appVersion: 1, appCrc: 0,
      }));
      case Msg.SLOT: {
        const n = f.payload[0];
        const s = this.slots[n];
        if (!s) return this.status(f, Status.BAD_SLOT);
        // The raw record, as the node sends it; the host derives roles from BOOT.
        return this.reply(f, encodeStruct('SlotReply', { status: Status.OK, record: encodeRecord('SlotRecord', {
          seq: 1, state: s.state, reserved: 0, dataAddr: 0, capacity: this.o.capacity, progress: s.progress,
          header: s.header ?? decodeStruct('ImageHeader', new Uint8Array(36)), crc: 0,
        }) }));
      }
      case Msg.BEGIN: return this.begin(f);
      case Msg.DATA: return this.data(f);
      case Msg.END: return this.end(f);
      case Msg.ACTIVATE: {
        const { slot } = decodeStruct('ActivateRequest', f.payload);
        if (this.slots[slot]?.state !== SlotState.STAGED) return this.status(f, Status.NOT_STAGED);
        this.boot = { ...this.boot, state: BootState.PENDING, pending: slot };
        return this.status(f, Status.OK);
      }
      case Msg.ERASE: {
        const s = this.slots[f.payload[0]];
        if (!s) return this.status(f, Status.BAD_SLOT);
        Object.assign(s, { state: SlotState.EMPTY, progress: 0, header: null });
        return this.status(f, Status.OK);
      }
      case Msg.READ: {
        const { addr, length } = decodeStruct('ReadRequest', f.payload);
        // Like the node: a read never crosses a 64 KiB boundary (a 24LC1025's block wraps there).
        if (((addr & 0xffff) + length) > 0x10000) return this.status(f, Status.BAD_RANGE);
        const data = Uint8Array.from({ length }, (_, i) => (addr + i) & 0xff);
        return this.reply(f, encodeStruct('ReadReply', { status: Status.OK, data }));
      }
      case Msg.BOOT: return this.reply(f, encodeStruct('BootReply', { status: Status.OK, record: { seq: 1, state: this.boot.state, flags: 0, slot: this.boot.pending, current: this.boot.current, backup: NO_SLOT, result: 0, attempts: 0, reserved: new Uint8Array(3), crc: 0 } }));
      default: return this.status(f, Status.UNKNOWN_TYPE);
    }
  }

  private begin(f: Frame): void {
    this.begins++;
    const req = decodeStruct('BeginRequest', f.payload);
    const s = this.slots[req.slot];
    if (!s) return this.status(f, Status.BAD_SLOT);
    // Like the node: a power of two that divides the 128-byte EEPROM page.
    if (req.chunkSize < 16 || req.chunkSize > this.o.maxChunk || 128 % req.chunkSize !== 0) return this.status(f, Status.BAD_FRAME);
    let h: ImageHeader;
    try { h = decodeHeader(f.payload.subarray(4)); } catch { return this.status(f, Status.BAD_HEADER); }
    if (Array.from(h.signature).join() !== this.o.signature.join()) return this.status(f, Status.WRONG_TARGET);
    if (h.length > this.o.capacity || h.length > this.o.appMax) return this.status(f, Status.TOO_BIG);
    const same = s.state === SlotState.RECEIVING && s.header && s.header.length === h.length && s.header.payloadCrc === h.payloadCrc && s.header.buildId === h.buildId;
    if (!same) Object.assign(s, { state: SlotState.RECEIVING, progress: 0, header: h });
    const resume = Math.floor(s.progress / req.chunkSize);
    this.session = { slot: req.slot, chunkSize: req.chunkSize, cum: resume, got: new Set() };
    this.reply(f, encodeStruct('BeginReply', { status: Status.OK, resumeChunk: resume }));
  }

  private data(f: Frame): void {
    const t = this.session;
    if (!t) return this.reply(f, encodeStruct('AckReply', { status: Status.NOT_RECEIVING }));
    const { chunk, data } = decodeStruct('DataRequest', f.payload);
    this.dataLog.push({ chunk, cum: t.cum });
    const s = this.slots[t.slot];
    if (chunk > t.cum + ACK_WINDOW) return; // beyond the bitmap: dropped unacknowledged
    if (chunk >= t.cum && !t.got.has(chunk)) {
      const at = chunk * t.chunkSize;
      if (s.data.subarray(at, at + data.length).some((x, i) => x !== 0xff && x !== data[i])) this.rewrites++;
      s.data.set(data, at);
      if (this.corruptOnWrite !== null && this.corruptOnWrite >= at && this.corruptOnWrite < at + data.length) s.data[this.corruptOnWrite] ^= 0x01;
      t.got.add(chunk);
      while (t.got.has(t.cum)) { t.got.delete(t.cum); t.cum++; }
      s.progress = Math.min(t.cum * t.chunkSize, s.header!.length);
    }
    let selective = 0;
    for (const c of t.got) if (c > t.cum && c <= t.cum + ACK_WINDOW) selective |= 1 << (c - t.cum - 1);
    this.reply(f, encodeStruct('AckReply', { status: Status.OK, cumulative: t.cum, selective }));
  }

  private end(f: Frame): void {
    const s = this.slots[f.payload[0]];
    // Like the node: END ends the transfer, so a repeated END (its reply lost) finds none.
    if (!s || !s.header || this.session?.slot !== f.payload[0]) return this.status(f, Status.NOT_RECEIVING);
    if (s.progress < s.header.length) return this.status(f, Status.BAD_RANGE);
    this.session = null;
    const crc = crc32(s.data.subarray(0, s.header.length));
    s.state = crc === s.header.payloadCrc ? SlotState.STAGED : SlotState.BAD;
    this.reply(f, encodeStruct('EndReply', { status: s.state === SlotState.STAGED ? Status.OK : Status.BAD_CRC, reserved: new Uint8Array(3), crc }));
  }

  payloadOf(slot: number): Uint8Array {
    const s = this.slots[slot];
    return s.data.slice(0, s.header?.length ?? 0);
  }
}
