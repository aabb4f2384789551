// A small in-test node that follows the node's side of protocol 2 (protocol/WIRE.md; the real
// one is sketch-lib/src/sb_engine.S): enough to exercise the HOST's policy of the EEPROM file
// system (protocol/STATES.md), its request/retry and its window/retransmission logic under
// faults. It is not the product's node (that is
// sketch-lib on the simulated ATmega328P, tested in test/sketch-lib and test/e2e): it keeps the
// EEPROM as a plain byte array, models the chip's write time only as time spent per chunk, and
// stands in for the bootloader with a few lines at each reset.
import {
  ACK_WINDOW, BootFlag, BootResult, BootState, FS_MAX_SLOTS, FS_REC_PITCH, FrameDecoder, Msg, NO_SLOT, PROTOCOL_VERSION, REPLY_BIT,
  SlotState, Status,
  crc32, decodeRecord, decodeStruct, decodeSuperblock, encodeFrame, encodeStruct, encodeSuperblock, layouts, pickRecord, planLayout,
  recordAddrs, slotDataAddr,
  type BootRecord, type Frame, type SlotRecord, type Superblock,
} from '../../protocol/ts/index.ts';
import type { Clock, TimerHandle } from '../../host/src/transport/clock.ts';
import type { ByteLink } from '../../host/src/transport/link.ts';

export interface ModelOptions {
  signature?: number[];
  /** Slots of the layout the EEPROM starts with (unless `formatted` is false). */
  slots?: number;
  /** Bytes per slot data area, instead of what planLayout gives the chip. */
  capacity?: number;
  /** false: a blank EEPROM (all 0xFF), as a new board has. */
  formatted?: boolean;
  chipSize?: number;
  pageSize?: number;
  maxChunk?: number;
  window?: number;
  /** The running application's flash bytes (INFO's appLen and appCrc; what BACKUP copies). */
  app?: Uint8Array;
  /** The version compiled into the running sketch. */
  appVersion?: number;
  /** Time the node spends taking one DATA frame (its EEPROM writes), in ms. */
  chunkMs?: (bytes: number) => number;
  /**
   * Time after a reset during which frames are lost: the bootloader listens for avrdude, or
   * installs, before the sketch (and the runtime library) runs again.
   */
  bootMs?: number;
}

type Options = Required<ModelOptions>;

interface Transfer {
  slot: number;
  chunkSize: number;
  length: number;
  count: number;
  cum: number;
  got: Set<number>;
  /** Progress last written to the slot record. */
  saved: number;
}

/** A slot as the tests look at it: its newest record, EMPTY when there is none. */
export interface ModelSlot {
  state: number;
  progress: number;
  dataAddr: number;
  capacity: number;
  header: SlotRecord['header'] | null;
}

const REC = { boot: layouts.BootRecord.size, slot: layouts.SlotRecord.size };

/** Quiet time after which the node drops a partial frame (sketch-lib: more than 3 ms). */
const QUIET_MS = 4;

export class NodeModel {
  readonly o: Options;
  /** The EEPROM. */
  readonly memory: Uint8Array;
  /** Every DATA chunk index received (after the link), for assertions about the host. */
  readonly dataLog: { chunk: number; cum: number }[] = [];
  /** Every request type the node handled, in order. */
  readonly requests: number[] = [];
  /** Write operations on the EEPROM (chunks, records, SUPERBLOCK, BACKUP). */
  writes = 0;
  /**
   * READs that ran past the chip's end or across a 64 KiB block: the node does not refuse them
   * (its sequential read wraps), so a host must never send one.
   */
  wrappedReads = 0;
  rewrites = 0;
  begins = 0;
  reboots = 0;
  busyReplies = 0;
  /** Make the next n requests of this type answer BUSY. */
  busy = new Map<number, number>();
  /** Lose the replies to the next n requests of this type (the request itself is taken). */
  loseReply = new Map<number, number>();
  silent = false;
  /** A payload offset whose byte is stored with a flipped bit (a bad EEPROM cell). */
  corruptOnWrite: number | null = null;
  /** BACKUP stores one byte of the copy wrong (a failing EEPROM). */
  corruptBackup = false;
  /** Runs as a RECORD arrives, before the node checks it: another writer's turn. */
  beforeRecord: ((which: number) => void) | null = null;
  /** Runs after every EEPROM write operation (e.g. to cut the power there). */
  afterWrite: (() => void) | null = null;
  app: Uint8Array;
  appVersion: number;
  private layout: Superblock | null = null;
  private transfer: Transfer | null = null;
  /** Like the node's frame buffer: a payload up to a DATA frame of maxChunk (2 + maxChunk). */
  private readonly decoder: FrameDecoder;
  private quiet: TimerHandle | null = null;
  private busyUntil = 0;
  private bootedAt = -Infinity;
  private link: ByteLink;

  constructor(link: ByteLink, private readonly clock: Clock, o: ModelOptions = {}) {
    this.link = link;
    this.o = {
      signature: o.signature ?? [0x1e, 0x95, 0x0f], slots: o.slots ?? 2, capacity: o.capacity ?? 0, formatted: o.formatted ?? true,
      chipSize: o.chipSize ?? 65536, pageSize: o.pageSize ?? 128, maxChunk: o.maxChunk ?? 128,
      window: o.window ?? 4, app: o.app ?? pseudoRandom(10_000, 0x5eed), appVersion: o.appVersion ?? 0x010000, chunkMs: o.chunkMs ?? (() => 0), bootMs: o.bootMs ?? 500,
    };
    this.decoder = new FrameDecoder(2 + this.o.maxChunk);
    this.app = this.o.app;
    this.appVersion = this.o.appVersion;
    this.memory = new Uint8Array(this.o.chipSize).fill(0xff);
    if (this.o.formatted) this.formatDirectly(this.o.slots, this.o.capacity || undefined);
    this.relink(link);
  }

  /** Attaches the node to a new link (the host reopened its port); its state stays. */
  relink(link: ByteLink): void {
    this.link = link;
    link.onData((b) => {
      for (const f of this.decoder.push(b)) this.take(f);
      // Like the node: a partial frame (a corrupted length byte, a stray SOF) is dropped once
      // the line has been quiet for a few ms, so it cannot swallow the frames after it.
      if (this.quiet) this.clock.clearTimer(this.quiet);
      this.quiet = this.decoder.pending ? this.clock.setTimer(() => { this.quiet = null; for (const f of this.decoder.idle()) this.take(f); }, QUIET_MS) : null;
    });
  }

  /** A reset: RAM (the transfer) is lost, the EEPROM stays, and the bootloader runs. */
  reset(): void {
    this.transfer = null;
    this.bootedAt = this.clock.now();
    this.bootloader();
    this.readLayout();
  }

  // ---- what tests look at and set up

  get slotCount(): number {
    return this.layout?.slotCount ?? 0;
  }

  slot(i: number): ModelSlot {
    const r = this.load(1 + i).record as SlotRecord | null;
    if (!r) return { state: SlotState.EMPTY, progress: 0, dataAddr: 0, capacity: 0, header: null };
    return { state: r.state, progress: r.progress, dataAddr: r.dataAddr, capacity: r.capacity, header: r.header.magic ? r.header : null };
  }

  get slots(): ModelSlot[] {
    return Array.from({ length: this.slotCount }, (_, i) => this.slot(i));
  }

  get boot(): BootRecord | null {
    return this.load(0).record as BootRecord | null;
  }

  /** Writes the boot record as the bootloader or the sketch would (the next version). */
  setBoot(fields: Partial<BootRecord>): void {
    const cur = this.boot ?? { seq: 0, state: BootState.IDLE, flags: 0, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT, result: 0, attempts: 0, reserved: new Uint8Array(3), crc: 0 };
    this.store(0, encodeStruct('BootRecord', { ...cur, ...fields }));
  }

  /** Writes a slot record (the next version), e.g. a staged image placed by hand. */
  setSlot(i: number, fields: Partial<SlotRecord>, data?: Uint8Array): void {
    const sb = this.layout!;
    const cur = (this.load(1 + i).record as SlotRecord | null) ?? {
      seq: 0, state: SlotState.EMPTY, reserved: 0, dataAddr: slotDataAddr(sb, i), capacity: sb.slotSize, progress: 0,
      header: decodeStruct('ImageHeader', new Uint8Array(layouts.ImageHeader.size)), crc: 0,
    };
    const rec = { ...cur, ...fields };
    if (data) this.memory.set(data, rec.dataAddr);
    this.store(1 + i, encodeStruct('SlotRecord', rec));
  }

  payloadOf(slot: number): Uint8Array {
    const s = this.slot(slot);
    return this.memory.slice(s.dataAddr, s.dataAddr + (s.header?.length ?? 0));
  }

  get appCrc(): number {
    return crc32(this.app);
  }

  // ---- the link

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
    if (this.silent || this.clock.now() < this.bootedAt + this.o.bootMs) return;
    const cost = f.type === Msg.DATA ? this.o.chunkMs(f.payload.length - 2) : 0;
    const start = Math.max(this.clock.now(), this.busyUntil);
    this.busyUntil = start + cost;
    if (this.busyUntil <= this.clock.now()) this.handle(f);
    else this.clock.setTimer(() => this.handle(f), this.busyUntil - this.clock.now());
  }

  // ---- requests, as sketch-lib answers them

  /** Request sizes (sb_engine.S's table); RECORD and DATA carry a variable tail. */
  private static readonly sizes: Record<number, number> = {
    [Msg.INFO]: 0, [Msg.BEGIN]: layouts.BeginRequest.size, [Msg.CRC]: layouts.CrcRequest.size, [Msg.CONFIRM]: 0,
    [Msg.READ]: layouts.ReadRequest.size, [Msg.REBOOT]: 0, [Msg.SUPERBLOCK]: layouts.SuperblockRequest.size, [Msg.BACKUP]: layouts.SlotQuery.size,
  };

  /** Requests whose first byte names a slot of the layout. */
  private static readonly slotArg = new Set<number>([Msg.BEGIN, Msg.CRC, Msg.BACKUP]);

  private handle(f: Frame): void {
    this.requests.push(f.type);
    const b = this.busy.get(f.type) ?? 0;
    if (b > 0) { this.busy.set(f.type, b - 1); this.busyReplies++; this.status(f, Status.BUSY); return; }
    if (f.type === Msg.DATA) return this.data(f);
    const size = NodeModel.sizes[f.type];
    const known = size !== undefined || f.type === Msg.RECORD;
    if (!known) return this.status(f, Status.UNKNOWN_TYPE);
    if (size !== undefined && f.payload.length !== size) return this.status(f, Status.BAD_FRAME);
    if (NodeModel.slotArg.has(f.type)) {
      if (!this.slotCount) return this.status(f, Status.NOT_FORMATTED);
      if (f.payload[0] >= this.slotCount) return this.status(f, Status.BAD_SLOT);
    }
    switch (f.type) {
      case Msg.INFO: return this.info(f);
      case Msg.BEGIN: return this.begin(f);
      case Msg.CRC: return this.crc(f);
      case Msg.RECORD: return this.status(f, this.record(f.payload));
      case Msg.SUPERBLOCK: return this.status(f, this.superblock(f.payload));
      case Msg.BACKUP: return this.status(f, this.backup(f.payload[0]));
      case Msg.CONFIRM: return this.status(f, this.confirm());
      case Msg.READ: return this.read(f);
      case Msg.REBOOT: {
        if (this.transfer) this.persist();
        this.status(f, Status.OK);
        this.reboots++;
        return this.reset();
      }
    }
  }

  /** INFO: static facts only; the host reads the superblock and the records itself. */
  private info(f: Frame): void {
    this.reply(f, encodeStruct('InfoReply', {
      status: Status.OK, protocol: PROTOCOL_VERSION, signature: Uint8Array.from(this.o.signature), window: this.o.window,
      blVersion: 0x0100, maxChunk: this.o.maxChunk, pageSize: this.o.pageSize, slotCount: this.slotCount, chipSize: this.o.chipSize,
      appVersion: this.appVersion, appCrc: this.appCrc, appLen: this.app.length,
    }));
  }

  /** BEGIN opens a transfer and writes nothing: the host has made the slot RECEIVING. */
  private begin(f: Frame): void {
    this.begins++;
    const req = decodeStruct('BeginRequest', f.payload);
    const c = req.chunkSize;
    if (c < 16 || c > this.o.maxChunk || c > this.o.pageSize || (c & (c - 1)) !== 0) return this.status(f, Status.BAD_FRAME);
    if (req.length < 1 || req.length > this.layout!.slotSize) return this.status(f, Status.TOO_BIG);
    const count = Math.ceil(req.length / c);
    if (req.startChunk > count) return this.status(f, Status.BAD_RANGE);
    this.transfer = { slot: req.slot, chunkSize: c, length: req.length, count, cum: req.startChunk, got: new Set(), saved: req.startChunk * c };
    this.status(f, Status.OK);
  }

  private data(f: Frame): void {
    const t = this.transfer;
    const ack = (status: number) => this.reply(f, encodeStruct('AckReply', { status, cumulative: t?.cum ?? 0, selective: t ? this.selective(t) : 0 }));
    if (!t) return ack(Status.NOT_RECEIVING);
    const { chunk, data } = decodeStruct('DataRequest', f.payload);
    if (chunk >= t.count) return ack(Status.BAD_RANGE);
    if (data.length !== Math.min(t.chunkSize, t.length - chunk * t.chunkSize)) return ack(Status.BAD_FRAME);
    this.dataLog.push({ chunk, cum: t.cum });
    if (chunk > t.cum + ACK_WINDOW) return; // beyond the bitmap: dropped unacknowledged
    if (chunk >= t.cum && !t.got.has(chunk)) {
      const at = this.dataAddr(t.slot) + chunk * t.chunkSize;
      if (this.memory.subarray(at, at + data.length).some((x, i) => x !== 0xff && x !== data[i])) this.rewrites++;
      this.memory.set(data, at);
      this.wrote();
      const bad = this.corruptOnWrite;
      if (bad !== null && bad >= chunk * t.chunkSize && bad < chunk * t.chunkSize + data.length) this.memory[this.dataAddr(t.slot) + bad] ^= 0x01;
      t.got.add(chunk);
      while (t.got.has(t.cum)) { t.got.delete(t.cum); t.cum++; }
      // Like sketch-lib: the slot record's progress is rewritten every 32 chunks of maxChunk.
      if (this.progress(t) >= t.saved + 32 * this.o.maxChunk) this.persist();
    }
    ack(Status.OK);
  }

  private selective(t: Transfer): number {
    let sel = 0;
    for (const c of t.got) if (c > t.cum && c <= t.cum + ACK_WINDOW) sel |= 1 << (c - t.cum - 1);
    return sel;
  }

  private progress(t: Transfer): number {
    return Math.min(t.cum * t.chunkSize, t.length);
  }

  /** Rewrites the receiving slot's record with the progress made (load newest, set, store). */
  private persist(): void {
    const t = this.transfer!;
    const rec = this.load(1 + t.slot).record as SlotRecord | null;
    if (!rec) { this.transfer = null; return; }
    t.saved = this.progress(t);
    this.store(1 + t.slot, encodeStruct('SlotRecord', { ...rec, progress: t.saved }));
  }

  private crc(f: Frame): void {
    const { slot, length } = decodeStruct('CrcRequest', f.payload);
    if (length < 1 || length > this.layout!.slotSize) return this.status(f, Status.BAD_RANGE);
    if (this.transfer?.slot === slot) this.transfer = null;
    const at = this.dataAddr(slot);
    this.reply(f, encodeStruct('CrcReply', { status: Status.OK, crc: crc32(this.memory.subarray(at, at + length)) }));
  }

  /**
   * RECORD: the record without its CRC field (12 or 52 bytes), written as the next version if
   * the seq it names is the newest one's (0: none). Works unformatted: a format writes records
   * before the superblock.
   */
  private record(p: Uint8Array): number {
    const which = p[0];
    this.beforeRecord?.(which);
    if (which > FS_MAX_SLOTS || p.length !== 1 + (which ? REC.slot : REC.boot) - 4) return Status.BAD_FRAME;
    const have = this.load(which).record?.seq ?? 0;
    if ((p[1] | (p[2] << 8)) !== have) return Status.STALE;
    this.store(which, Uint8Array.from([...p.subarray(1), 0, 0, 0, 0]));
    if (this.transfer && this.transfer.slot === which - 1) this.transfer = null;
    return Status.OK;
  }

  /** SUPERBLOCK: the host's 28 bytes at address 0, then the layout is read again. */
  private superblock(p: Uint8Array): number {
    this.memory.set(p, 0);
    this.wrote();
    this.readLayout();
    return Status.OK;
  }

  private backup(slot: number): number {
    if (this.app.length > this.layout!.slotSize) return Status.TOO_BIG;
    if (this.transfer?.slot === slot) this.transfer = null;
    this.memory.set(this.app, this.dataAddr(slot));
    if (this.corruptBackup) this.memory[this.dataAddr(slot) + 7] ^= 0x40;
    this.wrote();
    return Status.OK;
  }

  private confirm(): number {
    const b = this.boot;
    if (b?.state === BootState.TRIAL) {
      this.setBoot({ state: BootState.IDLE, flags: 0, backup: NO_SLOT, result: BootResult.CONFIRMED, attempts: 0 });
      return Status.OK;
    }
    return b?.state === BootState.IDLE && b.result === BootResult.CONFIRMED ? Status.OK : Status.NOT_TRIAL;
  }

  /**
   * READ: 1 .. maxChunk bytes below 2^24, else BAD_RANGE. Like the node, nothing else is
   * checked: the sequential read wraps inside its 64 KiB block, and the chip ignores address
   * bits above its size (counted in wrappedReads).
   */
  private read(f: Frame): void {
    const { addr, length } = decodeStruct('ReadRequest', f.payload);
    if (length < 1 || length > this.o.maxChunk || addr >= 0x1000000) return this.status(f, Status.BAD_RANGE);
    if (addr + length > this.o.chipSize || (addr & 0xffff) + length > 0x10000) this.wrappedReads++;
    const at = (i: number) => ((addr & ~0xffff) + ((addr + i) & 0xffff)) % this.o.chipSize;
    this.reply(f, encodeStruct('ReadReply', { status: Status.OK, data: Uint8Array.from({ length }, (_, i) => this.memory[at(i)]) }));
  }

  // ---- the EEPROM file system, the node's side: A/B copies, seq, CRC

  private addrs(which: number): [number, number] {
    return recordAddrs(FS_REC_PITCH, which === 0 ? 'boot' : which - 1);
  }

  private load(which: number) {
    const name = which === 0 ? 'BootRecord' : 'SlotRecord';
    const size = which === 0 ? REC.boot : REC.slot;
    const [a, b] = this.addrs(which);
    return pickRecord<{ seq: number }>(decodeRecord(name, this.memory.subarray(a, a + size)), decodeRecord(name, this.memory.subarray(b, b + size)));
  }

  /** Writes `bytes` as the next version of a record: the other copy, seq + 1, fresh CRC. */
  private store(which: number, bytes: Uint8Array): void {
    const p = this.load(which);
    const rec = bytes.slice();
    const size = rec.length;
    rec[0] = p.nextSeq & 0xff;
    rec[1] = p.nextSeq >> 8;
    new DataView(rec.buffer).setUint32(size - 4, crc32(rec.subarray(0, size - 4)), true);
    this.memory.set(rec, this.addrs(which)[p.writeTo]);
    this.wrote();
  }

  private wrote(): void {
    this.writes++;
    this.afterWrite?.();
  }

  private readLayout(): void {
    const sb = decodeSuperblock(this.memory.subarray(0, layouts.Superblock.size));
    this.layout = sb && sb.chipSize === this.o.chipSize && sb.slotCount >= 1 && sb.slotCount <= FS_MAX_SLOTS ? sb : null;
  }

  private dataAddr(slot: number): number {
    return slotDataAddr(this.layout!, slot);
  }

  /** A formatted EEPROM, as `stageboot format` leaves it (set up without the host). */
  private formatDirectly(slots: number, capacity?: number): void {
    const sb = planLayout({ name: 'model', size: this.o.chipSize, pageSize: this.o.pageSize, bankSize: 65536 }, slots);
    if (capacity) {
      sb.slotSize = capacity;
      sb.crc = crc32(encodeSuperblock(sb).subarray(0, layouts.Superblock.size - 4));
    }
    this.memory.set(encodeSuperblock(sb), 0);
    this.readLayout();
    this.setBoot({ state: BootState.IDLE, current: NO_SLOT });
    for (let i = 0; i < slots; i++) this.setSlot(i, { state: SlotState.EMPTY });
  }

  /**
   * The bootloader, reduced to its outcome: a PENDING slot that is STAGED with a good CRC is
   * installed (IDLE, or TRIAL with the flag); anything else leaves IDLE with a BAD_* result. A
   * reset during a TRIAL reinstalls the backup.
   */
  private bootloader(): void {
    const b = this.boot;
    if (!b || !this.layout) return;
    if (b.state === BootState.TRIAL && b.backup !== NO_SLOT) {
      this.install(b.backup);
      this.setBoot({ state: BootState.IDLE, flags: 0, slot: b.backup, current: b.backup, backup: NO_SLOT, result: BootResult.REVERTED });
      return;
    }
    if (b.state !== BootState.PENDING) return;
    const s = this.slot(b.slot);
    const ok = s.state === SlotState.STAGED && s.header !== null && crc32(this.payloadOf(b.slot)) === s.header.payloadCrc;
    if (!ok) { this.setBoot({ state: BootState.IDLE, flags: 0, result: s.state === SlotState.STAGED ? BootResult.BAD_CRC : BootResult.NOT_STAGED }); return; }
    this.install(b.slot);
    const trial = (b.flags & BootFlag.TRIAL) !== 0;
    this.setBoot({ state: trial ? BootState.TRIAL : BootState.IDLE, current: b.slot, backup: trial ? b.backup : NO_SLOT, result: BootResult.INSTALLED });
  }

  private install(slot: number): void {
    const h = this.slot(slot).header;
    this.app = this.payloadOf(slot);
    this.appVersion = h?.appVersion ?? 0;
  }
}

/** Deterministic bytes (xorshift32), like a compiled sketch: no long runs of 0xFF. */
export function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
