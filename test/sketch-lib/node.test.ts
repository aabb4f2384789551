// The Arduino library on the simulated ATmega328P: the SerialNode example (built with the real
// Arduino core) gets raw protocol 2 frames over its serial line, and the test checks the replies
// and what lands in the simulated EEPROM. No bootloader: these tests cover the runtime side only.
// Protocol 2 leaves the file system's policy to the host (STATES.md), so each test plays the
// host's part with the node's primitives and checks each primitive's own semantics (WIRE.md).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Eeprom24, SimNode } from '../../host/src/sim/index.ts';
import {
  BootFlag, BootResult, BootState, ImageFlag, Msg, NO_SLOT, REPLY_BIT, SlotState, Status,
  chips, crc32, decodeRecord, decodeStruct, decodeSuperblock, encodeFrame, encodeHeader, encodeRecord, encodeStruct, encodeSuperblock,
  FrameDecoder, headerFor, layouts, makeHeader, pickRecord, planLayout, recordAddrs, slotDataAddr,
  type BootRecord, type Frame, type ImageHeader, type SlotRecord, type Superblock,
} from '../../protocol/ts/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SIG = Uint8Array.of(0x1e, 0x95, 0x0f);
const CHUNK = 64;
const PITCH = 128;
let hexText = '';
let imageLen = 0;

let hex512 = '';
let hex1025 = '';

beforeAll(() => {
  execFileSync('make', ['-s', '-C', join(root, 'sketch-lib'), 'SerialNode', 'SerialNode-24LC512', 'SerialNode-24LC1025'], { stdio: 'pipe' });
  hexText = readFileSync(join(root, 'sketch-lib/build/SerialNode/SerialNode.hex'), 'utf8');
  hex512 = readFileSync(join(root, 'sketch-lib/build/SerialNode-24LC512/SerialNode.hex'), 'utf8');
  hex1025 = readFileSync(join(root, 'sketch-lib/build/SerialNode-24LC1025/SerialNode.hex'), 'utf8');
}, 120_000);

/**
 * A SerialNode on a fresh board; BOOTRST unprogrammed (no bootloader), 512-byte boot section.
 * Its blank EEPROM is formatted as the host does it (the node plans no layouts).
 */
function boot(eeprom?: Eeprom24, hex = hexText, format = true): Session {
  const node = new SimNode({ fuses: { high: 0xdf }, ...(eeprom ? { eeprom } : {}) });
  node.loadHex(hex);
  imageLen = lastAddress(hex);
  node.reset('power');
  const s = new Session(node);
  if (format) s.format();
  return s;
}

function lastAddress(hex: string): number {
  let end = 0;
  let base = 0;
  for (const line of hex.split('\n')) {
    const n = parseInt(line.slice(1, 3), 16);
    const addr = parseInt(line.slice(3, 7), 16);
    const type = parseInt(line.slice(7, 9), 16);
    if (type === 0) end = Math.max(end, base + addr + n);
    if (type === 2) base = parseInt(line.slice(9, 13), 16) << 4;
  }
  return end;
}

const recordSize = (which: number) => (which === 0 ? layouts.BootRecord.size : layouts.SlotRecord.size);

class Session {
  readonly dec = new FrameDecoder();
  readonly frames: Frame[] = [];
  text = '';
  seq = 1;
  /** DATA chunk size of begin() and push(). */
  chunk = CHUNK;

  constructor(readonly node: SimNode) {
    node.uart.onData((d) => {
      this.text += Buffer.from(d).toString('latin1');
      this.frames.push(...this.dec.push(d));
    });
    expect(node.runUntil(() => this.text.includes('SerialNode 1.0.0'), 16e6 * 1)).toBe(true);
  }

  get mem(): Uint8Array {
    return this.node.eeprom!.memory;
  }

  get cycles(): number {
    return this.node.eeprom!.writeCycles;
  }

  send(type: number, payload: Uint8Array, seq = this.seq++): number {
    this.node.uart.write(encodeFrame({ type, seq: seq & 0xff, payload }));
    return seq & 0xff;
  }

  /** Sends a request and runs the node until its reply arrives (or `seconds` pass). */
  request(type: number, payload: Uint8Array = new Uint8Array(0), seconds = 0.2): Frame | undefined {
    const seq = this.send(type, payload);
    const find = () => this.frames.findIndex((f) => f.type === (type | REPLY_BIT) && f.seq === seq);
    this.node.runUntil(() => find() >= 0, 16e6 * seconds);
    const i = find();
    return i >= 0 ? this.frames.splice(i, 1)[0] : undefined;
  }

  status(type: number, payload?: Uint8Array, seconds?: number): number {
    const r = this.request(type, payload, seconds);
    expect(r, `reply to type ${type}`).toBeDefined();
    return r!.payload[0];
  }

  info() {
    const r = this.request(Msg.INFO)!;
    expect(r.payload.length).toBe(layouts.InfoReply.size);
    return decodeStruct('InfoReply', r.payload);
  }

  // ---- records, as the host handles them

  /** The newest valid copy of record `which` (0 boot, 1 + i slot i), read from the EEPROM. */
  newest(which: number) {
    const name = which === 0 ? 'BootRecord' : 'SlotRecord';
    const [a, b] = recordAddrs(PITCH, which === 0 ? 'boot' : which - 1);
    const n = recordSize(which);
    return pickRecord<{ seq: number }>(decodeRecord(name, this.mem.subarray(a, a + n)), decodeRecord(name, this.mem.subarray(b, b + n)));
  }

  bootRecord(): BootRecord | null {
    return this.newest(0).record as BootRecord | null;
  }

  slotRecord(slot = 0): SlotRecord | null {
    return this.newest(1 + slot).record as SlotRecord | null;
  }

  /** RECORD with an explicit seq (default: the newest one's, as a host that read it sends). */
  record(which: number, rec: BootRecord | SlotRecord, seq = this.newest(which).record?.seq ?? 0): number {
    const bytes = encodeStruct(which === 0 ? 'BootRecord' : 'SlotRecord', { ...rec, seq, crc: 0xdeadbeef } as never);
    return this.status(Msg.RECORD, Uint8Array.of(which, ...bytes), 0.2);
  }

  write(addr: number, data: Uint8Array): number {
    return this.status(Msg.WRITE, encodeStruct('WriteRequest', { addr, data }), 0.2);
  }

  superblock(): Superblock | null {
    return decodeSuperblock(this.mem.subarray(0, 28));
  }

  /** What `stageboot format` does: superblock invalid, fresh records, superblock valid. */
  format(sb = planLayout(Object.values(chips).find((c) => c.size === this.node.eeprom!.size)!)): Superblock {
    expect(this.write(0, new Uint8Array(4))).toBe(Status.OK);
    expect(this.record(0, bootRec({ state: BootState.IDLE }))).toBe(Status.OK);
    for (let i = 0; i < sb.slotCount; i++) expect(this.record(1 + i, slotRec(sb, i, SlotState.EMPTY))).toBe(Status.OK);
    expect(this.write(0, encodeSuperblock(sb))).toBe(Status.OK);
    return sb;
  }

  /** The host's begin: the slot RECEIVING with this header (RECORD), then BEGIN. */
  begin(header: ImageHeader, slot = 0, chunkSize = this.chunk, startChunk = 0): number {
    const sb = this.superblock()!;
    expect(this.record(1 + slot, { ...slotRec(sb, slot, SlotState.RECEIVING), header })).toBe(Status.OK);
    return this.open(slot, chunkSize, header.length, startChunk);
  }

  /** BEGIN alone. */
  open(slot: number, chunkSize: number, length: number, startChunk = 0): number {
    return this.status(Msg.BEGIN, encodeStruct('BeginRequest', { slot, chunkSize, length, startChunk }));
  }

  crc(slot: number, length: number, seconds = 2) {
    const r = this.request(Msg.CRC, encodeStruct('CrcRequest', { slot, length }), seconds)!;
    return r.payload.length === layouts.CrcReply.size ? decodeStruct('CrcReply', r.payload) : { status: r.payload[0], crc: -1 };
  }

  data(chunk: number, bytes: Uint8Array, seq?: number): number {
    return this.send(Msg.DATA, encodeStruct('DataRequest', { chunk, data: bytes }), seq);
  }

  acks() {
    const out = [];
    for (let i = 0; i < this.frames.length; ) {
      if (this.frames[i].type === (Msg.DATA | REPLY_BIT)) out.push(decodeStruct('AckReply', this.frames.splice(i, 1)[0].payload));
      else i++;
    }
    return out;
  }

  /**
   * Sends chunks [from, count) keeping at most `window` unacknowledged, as a host does.
   * Returns when all are acknowledged or `stopAfter` chunks have been sent.
   */
  push(payload: Uint8Array, from = 0, window = 2, stopAfter = Infinity): { cumulative: number; seconds: number } {
    const count = Math.ceil(payload.length / this.chunk);
    const t0 = this.node.seconds;
    const done = new Set<number>();
    for (let i = 0; i < from; i++) done.add(i);
    const inflight = new Map<number, number>(); // chunk -> time sent
    let next = from;
    let cumulative = from;
    let sent = 0;
    while (cumulative < count) {
      while (inflight.size < window && next < count && sent < stopAfter) {
        if (!done.has(next)) {
          this.data(next, payload.subarray(next * this.chunk, (next + 1) * this.chunk));
          inflight.set(next, this.node.seconds);
          sent++;
        }
        next++;
      }
      if (sent >= stopAfter && inflight.size === 0) break;
      const got = this.node.runUntil(() => this.frames.length > 0, 16e6 * 0.05);
      for (const a of this.acks()) {
        expect(a.status).toBe(Status.OK);
        cumulative = Math.max(cumulative, a.cumulative);
        for (let i = 0; i < a.cumulative; i++) done.add(i);
        for (let i = 0; i < 16; i++) if (a.selective & (1 << i)) done.add(a.cumulative + 1 + i);
      }
      for (const c of [...inflight.keys()]) if (done.has(c)) inflight.delete(c);
      if (!got) for (const c of inflight.keys()) this.data(c, payload.subarray(c * this.chunk, (c + 1) * this.chunk)); // timeout: resend
    }
    return { cumulative, seconds: this.node.seconds - t0 };
  }

  /** One DATA frame's ACK status (e.g. NOT_RECEIVING once a transfer has ended). */
  dataStatus(chunk: number, bytes: Uint8Array): number[] {
    this.data(chunk, bytes);
    this.node.runFor(0.02);
    return this.acks().map((a) => a.status);
  }
}

function bootRec(f: Partial<BootRecord>): BootRecord {
  return { seq: 0, state: BootState.IDLE, flags: 0, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT, result: BootResult.NONE, attempts: 0, reserved: new Uint8Array(3), crc: 0, ...f };
}

function slotRec(sb: Superblock, i: number, state: number): SlotRecord {
  return {
    seq: 0, state, reserved: 0, dataAddr: slotDataAddr(sb, i), capacity: sb.slotSize, progress: 0,
    header: decodeStruct('ImageHeader', new Uint8Array(layouts.ImageHeader.size)), crc: 0,
  };
}

function image(length: number, seed: number, signature = SIG) {
  let x = seed;
  const payload = Uint8Array.from({ length }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  return { payload, header: makeHeader(payload, { signature, appVersion: 0x020000 }) };
}

describe('StageBoot on the simulated node (SerialNode, 24LC256)', () => {
  it('leaves a blank EEPROM alone, reports its chip unformatted, and takes the host\'s layout', () => {
    const s = boot(undefined, hexText, false);
    expect(s.cycles).toBe(0);
    expect(s.info()).toMatchObject({ status: Status.OK, protocol: 2, chipSize: 32768, pageSize: 64, slotCount: 0, bootState: 0, current: NO_SLOT });
    // Requests that name a slot wait for a layout; SLOT's refusal is what a host formats on.
    expect(s.status(Msg.SLOT, Uint8Array.of(0))).toBe(Status.NOT_FORMATTED);
    expect(s.open(0, 64, 100)).toBe(Status.NOT_FORMATTED);
    expect(s.crc(0, 100).status).toBe(Status.NOT_FORMATTED);
    expect(s.status(Msg.BACKUP, Uint8Array.of(0))).toBe(Status.NOT_FORMATTED);
    expect(s.cycles).toBe(0);
    const sb = s.format();
    expect(s.superblock()).toEqual(sb);
    expect(sb).toMatchObject({ chipSize: 32768, pageSize: 64, slotCount: 1, recPitch: 128, dataStart: 640, slotSize: 32128 });
    expect(s.slotRecord()).toMatchObject({ state: SlotState.EMPTY, seq: 1, dataAddr: 640, capacity: 32128 });
    expect(s.bootRecord()).toMatchObject({ state: BootState.IDLE, seq: 1, current: NO_SLOT });
    const info = s.info();
    expect(info).toMatchObject({
      status: Status.OK, protocol: 2, bootState: BootState.IDLE, blVersion: 0xffff, flashSize: 32768, appMax: 0x7e00,
      chipSize: 32768, pageSize: 64, slotCount: 1, current: NO_SLOT, maxChunk: 64, window: 2, appVersion: 0x010000, appLen: imageLen,
    });
    expect([...info.signature]).toEqual([...SIG]);
    expect(info.appCrc).toBe(crc32(s.node.flash.subarray(0, imageLen)));
  });

  it('BEGIN opens a transfer and writes nothing; DATA is pipelined and persists progress; CRC reads it back and ends it', () => {
    const s = boot();
    const { payload, header } = image(9000, 1);
    expect(s.record(1, { ...slotRec(s.superblock()!, 0, SlotState.RECEIVING), header })).toBe(Status.OK);
    const cycles = s.cycles;
    const before = s.mem.slice();
    expect(s.open(0, CHUNK, payload.length)).toBe(Status.OK);
    expect(s.cycles).toBe(cycles);
    expect(s.mem).toEqual(before);
    const { seconds } = s.push(payload);
    // The node rewrote the slot record's progress every 32 chunks, itself.
    expect(s.slotRecord()).toMatchObject({ state: SlotState.RECEIVING, progress: 4 * 2048 });
    expect(encodeHeader(s.slotRecord()!.header)).toEqual(encodeHeader(header));
    expect(s.node.uart.overruns).toBe(0);
    // Pipelined: the next chunk travels during the write cycle (stop-and-wait would stay near
    // 7.3 KB/s; the 24LC256 page-write limit is about 9.8 KB/s). Simulated time: deterministic.
    expect(payload.length / seconds).toBeGreaterThan(8000);
    const c = s.cycles;
    expect(s.crc(0, payload.length)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    expect(s.crc(0, 4000)).toMatchObject({ status: Status.OK, crc: crc32(payload.subarray(0, 4000)) });
    expect(s.crc(0, payload.length)).toMatchObject({ status: Status.OK, crc: header.payloadCrc }); // idempotent
    expect(s.cycles).toBe(c);
    expect(s.mem.subarray(640, 640 + payload.length)).toEqual(payload);
    // CRC ended the transfer: DATA is refused, the record is the host's to write.
    expect(s.dataStatus(0, payload.subarray(0, 64))).toEqual([Status.NOT_RECEIVING]);
    expect(s.record(1, { ...s.slotRecord()!, state: SlotState.STAGED, progress: payload.length })).toBe(Status.OK);
    expect(s.slotRecord()).toMatchObject({ state: SlotState.STAGED, progress: 9000 });
  });

  it('re-acknowledges duplicates without rewriting them, and ignores corrupted frames', () => {
    const s = boot();
    const { payload, header } = image(640, 2);
    expect(s.begin(header)).toBe(Status.OK);
    s.push(payload.subarray(0, 5 * CHUNK).slice(), 0, 2); // chunks 0..4 of the real payload
    s.node.runFor(0.01);
    const cycles = s.cycles;
    s.data(2, payload.subarray(2 * CHUNK, 3 * CHUNK));
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 5, selective: 0 }]);
    expect(s.cycles).toBe(cycles);
    // A frame with a flipped bit is dropped silently; its clean resend is taken.
    const frame = encodeFrame({ type: Msg.DATA, seq: 77, payload: encodeStruct('DataRequest', { chunk: 5, data: payload.subarray(320, 384) }) });
    frame[20] ^= 0x10;
    s.node.uart.write(frame);
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([]);
    s.data(5, payload.subarray(320, 384));
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 6, selective: 0 }]);
    // Out of order: chunk 7 before 6 shows in the selective bitmap.
    s.data(7, payload.subarray(448, 512));
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 6, selective: 0b1 }]); // bit i: chunk cumulative + 1 + i
    s.push(payload, 6);
    expect(s.crc(0, payload.length)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
  });

  it('resumes after a reset from the progress it persisted, and REBOOT persists first', () => {
    const s1 = boot();
    const { payload, header } = image(6000, 3);
    expect(s1.begin(header)).toBe(Status.OK);
    s1.push(payload, 0, 2, 40); // 40 chunks = 2560 bytes, then the node resets
    s1.node.runFor(0.02);
    const persisted = s1.slotRecord()!.progress;
    expect(persisted).toBe(2048);
    s1.node.reset('external');
    const s = new Session(s1.node);
    expect(s.dataStatus(40, payload.subarray(40 * 64, 41 * 64))).toEqual([Status.NOT_RECEIVING]); // RAM lost the transfer
    const start = persisted / CHUNK;
    expect(s.open(0, CHUNK, payload.length, start)).toBe(Status.OK); // the record already says RECEIVING this image
    s.push(payload, start, 2, 10);
    s.node.runFor(0.02);
    expect(s.slotRecord()!.progress).toBe(2048); // 10 chunks: not yet due
    const resets = s.node.resets.length;
    expect(s.status(Msg.REBOOT)).toBe(Status.OK);
    const s2 = new Session(s.node); // runs until the sketch's banner after the reset
    expect(s.node.resets.slice(resets).map((r) => r.cause)).toEqual(['watchdog']);
    expect(s.slotRecord()!.progress).toBe(2048 + 640);
    const again = s2.slotRecord()!.progress / CHUNK;
    expect(s2.open(0, CHUNK, payload.length, again)).toBe(Status.OK);
    s2.push(payload, again);
    expect(s2.crc(0, payload.length)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    expect(s2.mem.subarray(640, 640 + payload.length)).toEqual(payload);
  });

  it('refuses a bad BEGIN or CRC before writing anything', () => {
    const s = boot();
    const before = s.mem.slice();
    const cycles = s.cycles;
    expect(s.open(0, 200, 1000)).toBe(Status.BAD_FRAME); // chunk > maxChunk
    expect(s.open(0, 48, 1000)).toBe(Status.BAD_FRAME); // not a power of two
    expect(s.open(0, 8, 1000)).toBe(Status.BAD_FRAME); // < CHUNK_MIN
    expect(s.open(0, 64, 0)).toBe(Status.TOO_BIG);
    expect(s.open(0, 64, 32129)).toBe(Status.TOO_BIG); // > the 32,128-byte slot
    expect(s.open(0, 64, 1000, 17)).toBe(Status.BAD_RANGE); // 16 chunks: start at most 16
    expect(s.open(1, 64, 1000)).toBe(Status.BAD_SLOT);
    expect(s.crc(0, 0).status).toBe(Status.BAD_RANGE);
    expect(s.crc(0, 32129).status).toBe(Status.BAD_RANGE);
    expect(s.crc(1, 100).status).toBe(Status.BAD_SLOT);
    expect(s.status(Msg.BEGIN, new Uint8Array(11))).toBe(Status.BAD_FRAME); // a short request
    expect(s.dataStatus(0, new Uint8Array(64))).toEqual([Status.NOT_RECEIVING]);
    expect(s.cycles).toBe(cycles);
    expect(s.mem).toEqual(before);
    // startChunk = chunk count: every chunk counts as written; DATA past it is out of range.
    expect(s.open(0, 64, 1000, 16)).toBe(Status.OK);
    expect(s.dataStatus(16, new Uint8Array(64))).toEqual([Status.BAD_RANGE]);
    expect(s.dataStatus(15, new Uint8Array(1000 - 15 * 64))).toEqual([Status.OK]); // re-acked, not rewritten
    expect(s.cycles).toBe(cycles);
  });

  it('RECORD: writes the other copy with seq + 1 and its own CRC, refuses a stale seq, works unformatted', () => {
    const s = boot();
    const sb = s.superblock()!;
    const [a, b] = recordAddrs(PITCH, 'boot');
    expect(s.slotRecord()!.seq).toBe(1);
    const cycles = s.cycles;
    const before = s.mem.slice();
    // The seq must be the newest one's: older, newer, or "none" (0) are all STALE.
    for (const seq of [0, 2, 0xffff]) expect(s.record(1, { ...slotRec(sb, 0, SlotState.BAD) }, seq)).toBe(Status.STALE);
    expect(s.record(9, slotRec(sb, 0, SlotState.BAD), 0)).toBe(Status.BAD_FRAME); // which > FS_MAX_SLOTS
    expect(s.status(Msg.RECORD, Uint8Array.of(1, ...new Uint8Array(55)))).toBe(Status.BAD_FRAME); // short record
    expect(s.status(Msg.RECORD, Uint8Array.of(0, ...new Uint8Array(56)))).toBe(Status.BAD_FRAME); // boot record is 16 B
    expect(s.cycles).toBe(cycles);
    expect(s.mem).toEqual(before);
    // Written to the copy that does not hold the newest record; the CRC sent (0xdeadbeef) ignored.
    const staged = { ...slotRec(sb, 0, SlotState.STAGED), progress: 77 };
    expect(s.record(1, staged, 1)).toBe(Status.OK);
    expect(s.slotRecord()).toMatchObject({ seq: 2, state: SlotState.STAGED, progress: 77 });
    expect(s.record(1, staged, 1)).toBe(Status.STALE); // the same request again (a lost reply): refused, not rewritten
    expect(s.slotRecord()!.seq).toBe(2);
    // Boot record: copy A held seq 1 after formatting, so seq 2 goes to B.
    expect(s.record(0, bootRec({ state: BootState.PENDING, slot: 0 }), 1)).toBe(Status.OK);
    expect(decodeRecord('BootRecord', s.mem.subarray(b, b + 16))).toMatchObject({ seq: 2, state: BootState.PENDING });
    expect(decodeRecord('BootRecord', s.mem.subarray(a, a + 16))).toMatchObject({ seq: 1, state: BootState.IDLE });
    // Slots beyond the layout (up to FS_MAX_SLOTS) and an unformatted node take RECORD too.
    expect(s.record(8, slotRec(sb, 0, SlotState.EMPTY), 0)).toBe(Status.OK);
    expect(s.newest(8).record).toMatchObject({ seq: 1 });
    expect(s.write(0, new Uint8Array(4))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(0);
    expect(s.record(1, slotRec(sb, 0, SlotState.EMPTY), 2)).toBe(Status.OK);
    expect(s.slotRecord()).toMatchObject({ seq: 3, state: SlotState.EMPTY });
  });

  it('RECORD of the slot under transfer ends the transfer', () => {
    const s = boot();
    const { payload, header } = image(3000, 4);
    expect(s.begin(header)).toBe(Status.OK);
    s.push(payload, 0, 2, 5);
    s.node.runFor(0.02);
    expect(s.record(1, { ...s.slotRecord()!, state: SlotState.EMPTY })).toBe(Status.OK);
    expect(s.dataStatus(5, payload.subarray(5 * 64, 6 * 64))).toEqual([Status.NOT_RECEIVING]);
  });

  it('WRITE: raw bytes within one page; one that touches the superblock changes the layout', () => {
    const s = boot();
    const cycles = s.cycles;
    expect(s.write(0x7000, Uint8Array.of(1, 2, 3))).toBe(Status.OK);
    expect([...s.mem.subarray(0x7000, 0x7003)]).toEqual([1, 2, 3]);
    expect(s.write(0x7000 + 60, new Uint8Array(8))).toBe(Status.BAD_RANGE); // crosses a 64-byte page
    expect(s.write(0x7000, new Uint8Array(0))).toBe(Status.BAD_RANGE);
    expect(s.write(0x8000, new Uint8Array(1))).toBe(Status.BAD_RANGE); // beyond the chip
    expect(s.cycles).toBe(cycles + 1);
    // A layout of two slots: the node takes it at once.
    const two = planLayout(chips['24LC256'], 2);
    expect(s.write(0, encodeSuperblock(two))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(2);
    expect(s.open(1, 64, two.slotSize)).toBe(Status.OK);
    expect(s.open(1, 64, two.slotSize + 1)).toBe(Status.TOO_BIG);
    // Invalid, or for another chip: not formatted.
    expect(s.write(0, new Uint8Array(4))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(0);
    expect(s.status(Msg.SLOT, Uint8Array.of(0))).toBe(Status.NOT_FORMATTED);
    expect(s.write(0, encodeSuperblock(planLayout(chips['24LC512'])))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(0);
  });

  it('SLOT and BOOT answer the raw newest record; removed and unknown requests are UNKNOWN_TYPE', () => {
    const s = boot();
    s.node.uart.write(Uint8Array.of(0x7e, 0x30, 1, 2, 3)); // a stray SOF claiming 48 bytes
    s.node.runFor(0.01);
    expect(s.info().status).toBe(Status.OK); // the node dropped it when the line went quiet
    const slot = s.request(Msg.SLOT, Uint8Array.of(0))!.payload;
    expect(slot[0]).toBe(Status.OK);
    expect(slot.subarray(1)).toEqual(encodeRecord('SlotRecord', s.slotRecord()!));
    const bootReply = s.request(Msg.BOOT)!.payload;
    expect(bootReply.subarray(1)).toEqual(encodeRecord('BootRecord', s.bootRecord()!));
    expect(s.status(Msg.SLOT, Uint8Array.of(1))).toBe(Status.BAD_SLOT);
    expect(s.status(Msg.SLOT, new Uint8Array(3))).toBe(Status.BAD_FRAME);
    const cycles = s.cycles;
    for (const gone of [0x06, 0x08, 0x0c, 0x55]) expect(s.status(gone, Uint8Array.of(0, 0))).toBe(Status.UNKNOWN_TYPE); // ACTIVATE, ERASE, FORMAT of protocol 1
    expect(s.cycles).toBe(cycles);
    // READ returns raw EEPROM bytes.
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: 0, length: 28 }))!;
    expect(read.payload.subarray(1)).toEqual(encodeSuperblock(s.superblock()!));
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 32760, length: 16 }))).toBe(Status.BAD_RANGE);
  });

  it('CONFIRM ends a trial (and again after its reply was lost), else NOT_TRIAL', () => {
    const s = boot();
    expect(s.status(Msg.CONFIRM)).toBe(Status.NOT_TRIAL);
    expect(s.record(0, bootRec({ state: BootState.TRIAL, flags: BootFlag.TRIAL, slot: 0, current: 0, backup: 0, result: BootResult.INSTALLED }))).toBe(Status.OK);
    const seq = s.bootRecord()!.seq;
    expect(s.status(Msg.CONFIRM)).toBe(Status.OK);
    expect(s.bootRecord()).toMatchObject({ state: BootState.IDLE, result: BootResult.CONFIRMED, backup: NO_SLOT, current: 0, seq: seq + 1 });
    expect(s.status(Msg.CONFIRM)).toBe(Status.OK);
    expect(s.bootRecord()!.seq).toBe(seq + 1);
  });

  it('BACKUP refuses a slot too small for the running image', () => {
    const s = boot();
    const eight = planLayout(chips['24LC256'], 8); // 3,776-byte slots
    expect(imageLen).toBeGreaterThan(eight.slotSize);
    s.format(eight);
    const cycles = s.cycles;
    expect(s.status(Msg.BACKUP, Uint8Array.of(0), 2)).toBe(Status.TOO_BIG);
    expect(s.status(Msg.BACKUP, Uint8Array.of(8), 2)).toBe(Status.BAD_SLOT);
    expect(s.cycles).toBe(cycles);
  });
});

describe('StageBoot trial activation (SerialNode-24LC512: two slots)', () => {
  it('the host makes the backup with BACKUP, checks it with CRC, marks the trial PENDING and reboots; the app confirms', () => {
    const s = boot(new Eeprom24({ model: '24LC512' }), hex512);
    const info = s.info();
    expect(info).toMatchObject({ chipSize: 65536, pageSize: 128, slotCount: 2, appLen: imageLen });
    const sb = s.superblock()!;
    const { payload, header } = image(3000, 10);
    expect(s.begin(header)).toBe(Status.OK);
    s.push(payload);
    expect(s.crc(0, payload.length).crc).toBe(header.payloadCrc);
    expect(s.record(1, { ...s.slotRecord(0)!, state: SlotState.STAGED, progress: payload.length })).toBe(Status.OK);

    // BACKUP copies appLen bytes of flash into slot 1's data area and writes no record.
    const own = s.node.flash.subarray(0, imageLen);
    const backupHeader = headerFor(info.appLen, info.appCrc, { signature: info.signature, appVersion: info.appVersion, flags: ImageFlag.CONFIRMS });
    expect(s.record(2, { ...slotRec(sb, 1, SlotState.RECEIVING), header: backupHeader })).toBe(Status.OK);
    const rec1 = s.slotRecord(1);
    const t0 = s.node.seconds;
    expect(s.status(Msg.BACKUP, Uint8Array.of(1), 5)).toBe(Status.OK);
    expect(s.node.seconds - t0).toBeLessThan(2);
    expect(s.slotRecord(1)).toEqual(rec1);
    const at = slotDataAddr(sb, 1);
    expect(s.mem.subarray(at, at + imageLen)).toEqual(own);
    expect(s.crc(1, info.appLen).crc).toBe(info.appCrc);
    expect(s.record(2, { ...s.slotRecord(1)!, state: SlotState.STAGED, progress: info.appLen })).toBe(Status.OK);
    expect(s.record(0, bootRec({ state: BootState.PENDING, flags: BootFlag.TRIAL, slot: 0, backup: 1 }))).toBe(Status.OK);
    const resets = s.node.resets.length;
    expect(s.status(Msg.REBOOT)).toBe(Status.OK);
    s.node.runFor(0.1);
    expect(s.node.resets.slice(resets).map((r) => r.cause)).toEqual(['watchdog']);
    expect(s.bootRecord()).toMatchObject({ state: BootState.PENDING, flags: BootFlag.TRIAL, slot: 0, backup: 1 });

    // What the bootloader leaves after installing slot 0 for trial; then the app confirms.
    // INFO reports the compiled-in version even though `current` names a slot (the host
    // substitutes the slot header's version when that slot holds the running image).
    const s2 = new Session((s.node.reset('external'), s.node));
    expect(s2.record(0, bootRec({ state: BootState.TRIAL, flags: BootFlag.TRIAL, slot: 1, current: 1, backup: 0, result: BootResult.INSTALLED }))).toBe(Status.OK);
    expect(s2.record(2, { ...s2.slotRecord(1)!, header: { ...backupHeader, appVersion: 0x090000 } })).toBe(Status.OK);
    expect(s2.info()).toMatchObject({ bootState: BootState.TRIAL, current: 1, appVersion: 0x010000, appCrc: info.appCrc, appLen: info.appLen });
    expect(s2.status(Msg.CONFIRM)).toBe(Status.OK);
    expect(s2.bootRecord()).toMatchObject({ state: BootState.IDLE, result: BootResult.CONFIRMED, backup: NO_SLOT, current: 1 });
  });
});

describe('StageBoot with 128-byte chunks (SerialNode-24LC512: STAGEBOOT_MAX_CHUNK=128)', () => {
  it('takes a chunk per EEPROM page straight from its frame buffer, at 115200 without losing a byte', () => {
    const s = boot(new Eeprom24({ model: '24LC512' }), hex512);
    expect(s.info()).toMatchObject({ pageSize: 128, maxChunk: 128, window: 2 });
    s.chunk = 128;
    const { payload, header } = image(12000, 12);
    expect(s.open(0, 256, payload.length)).toBe(Status.BAD_FRAME); // > maxChunk
    expect(s.begin(header)).toBe(Status.OK);
    const cycles = s.cycles;
    s.push(payload); // two frames in flight, as the host does with window 2
    expect(s.node.uart.overruns).toBe(0);
    // One write cycle per chunk (94), plus the progress record every 32 chunks (2).
    expect(s.cycles - cycles).toBe(Math.ceil(payload.length / 128) + 2);
    expect(s.slotRecord()?.progress).toBe(2 * 4096);
    expect(s.crc(0, payload.length)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    const rec = s.slotRecord()!;
    expect(s.mem.subarray(rec.dataAddr, rec.dataAddr + payload.length)).toEqual(payload);
    // READ and WRITE take up to a page too.
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: rec.dataAddr, length: 128 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0, 128));
    expect(s.write(0xff00, new Uint8Array(120).fill(0x5a))).toBe(Status.OK); // the frame's limit
    expect(s.write(0xff00 + 64, new Uint8Array(65))).toBe(Status.BAD_RANGE); // crosses a 128-byte page
  });
});

describe('StageBoot on a 24LC1025 (SerialNode-24LC1025: two 64 KiB banks)', () => {
  it('stages an image whose slot spans both banks, and refuses a READ across them', () => {
    const s = boot(new Eeprom24({ model: '24LC1025' }), hex1025);
    expect(s.info()).toMatchObject({ chipSize: 131072, pageSize: 128, slotCount: 4 });
    const { payload, header } = image(32200, 11);
    expect(s.begin(header, 1)).toBe(Status.OK);
    s.push(payload);
    expect(s.crc(1, payload.length, 3)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    const rec = s.slotRecord(1)!;
    expect(rec.dataAddr).toBeLessThan(0x10000);
    expect(rec.dataAddr + payload.length).toBeGreaterThan(0x10000); // the payload crosses into bank 1
    expect(s.mem.subarray(rec.dataAddr, rec.dataAddr + payload.length)).toEqual(payload);
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: 0x10000, length: 16 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0x10000 - rec.dataAddr, 0x10000 - rec.dataAddr + 16));
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 0x10000 - 8, length: 16 }))).toBe(Status.BAD_RANGE);
    // A WRITE in the upper bank lands there.
    expect(s.write(0x1ff00, Uint8Array.of(9, 8, 7))).toBe(Status.OK);
    expect([...s.mem.subarray(0x1ff00, 0x1ff03)]).toEqual([9, 8, 7]);
  });
});
