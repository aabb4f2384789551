// The Arduino library on the simulated ATmega328P: the SerialNode example (built with the real
// Arduino core) gets raw protocol-2 frames over its serial line, and the test checks the replies
// and what lands in the simulated EEPROM. The test plays the host's part of WIRE.md itself
// (records through RECORD, the layout through SUPERBLOCK), so each node request is checked on
// its own. No bootloader: these tests cover the runtime side only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Eeprom24, SimNode } from '../../host/src/sim/index.ts';
import {
  BootFlag, BootResult, BootState, FrameDecoder, Msg, NO_SLOT, REPLY_BIT, SlotState, Status,
  chips, crc32, decodeRecord, decodeStruct, decodeSuperblock, encodeFrame, encodeHeader, encodeRecord, encodeStruct,
  encodeSuperblock, makeHeader, pickRecord, planLayout, recordAddrs,
  type BootRecord, type ChipGeometry, type Frame, type ImageHeader, type SlotRecord, type Superblock,
} from '../../protocol/ts/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SIG = Uint8Array.of(0x1e, 0x95, 0x0f);
let hex256 = '';
let hex512 = '';
let hex1025 = '';

beforeAll(() => {
  execFileSync('make', ['-s', '-C', join(root, 'sketch-lib'), 'SerialNode', 'SerialNode-24LC512', 'SerialNode-24LC1025'], { stdio: 'pipe' });
  hex256 = readFileSync(join(root, 'sketch-lib/build/SerialNode/SerialNode.hex'), 'utf8');
  hex512 = readFileSync(join(root, 'sketch-lib/build/SerialNode-24LC512/SerialNode.hex'), 'utf8');
  hex1025 = readFileSync(join(root, 'sketch-lib/build/SerialNode-24LC1025/SerialNode.hex'), 'utf8');
}, 120_000);

/** The end of the image a hex file describes: the bytes the node calls its own (appLen). */
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

const chipOf = (model: '24LC256' | '24LC512' | '24LC1025'): ChipGeometry => chips[model];

/** A SerialNode on a fresh board (BOOTRST unprogrammed: no bootloader), formatted unless told not to. */
function boot(model: '24LC256' | '24LC512' | '24LC1025' = '24LC256', format = true): Session {
  const hex = { '24LC256': hex256, '24LC512': hex512, '24LC1025': hex1025 }[model];
  const node = new SimNode({ fuses: { high: 0xdf }, eeprom: new Eeprom24({ model }) });
  node.loadHex(hex);
  node.reset('power');
  const s = new Session(node, chipOf(model), lastAddress(hex));
  if (format) s.format();
  return s;
}

function image(length: number, seed: number, signature = SIG) {
  let x = seed;
  const payload = Uint8Array.from({ length }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  return { payload, header: makeHeader(payload, { signature, appVersion: 0x020000 }) };
}

class Session {
  readonly dec = new FrameDecoder();
  readonly frames: Frame[] = [];
  text = '';
  seq = 1;
  chunk = 64;
  layout: Superblock;

  constructor(readonly node: SimNode, readonly chip: ChipGeometry, readonly appLen: number) {
    node.uart.onData((d) => {
      this.text += Buffer.from(d).toString('latin1');
      this.frames.push(...this.dec.push(d));
    });
    expect(node.runUntil(() => this.text.includes('SerialNode 1.0.0'), 16e6 * 1)).toBe(true);
    this.layout = planLayout(chip);
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
    return decodeStruct('InfoReply', this.request(Msg.INFO)!.payload);
  }

  /** Both copies of a record through READ, picked as the node picks them (STATES.md). */
  readRecord<N extends 'BootRecord' | 'SlotRecord'>(name: N, which: 'boot' | number) {
    const size = name === 'BootRecord' ? 16 : 56;
    const copies = recordAddrs(128, which).map((addr) => {
      const r = this.request(Msg.READ, encodeStruct('ReadRequest', { addr, length: size }))!;
      expect(r.payload[0]).toBe(Status.OK);
      return decodeRecord(name, r.payload.subarray(1));
    });
    return pickRecord(copies[0], copies[1]);
  }

  /** RECORD: `rec` as the next version of record `which`, based on what is there now. */
  record(which: 'boot' | number, rec: Omit<BootRecord, 'seq' | 'crc'> | Omit<SlotRecord, 'seq' | 'crc'>, seq?: number): number {
    const name = which === 'boot' ? 'BootRecord' : 'SlotRecord';
    const now = this.readRecord(name, which).record;
    const body = encodeRecord(name as never, { ...rec, seq: seq ?? now?.seq ?? 0, crc: 0 } as never).subarray(0, -4);
    return this.status(Msg.RECORD, Uint8Array.of(which === 'boot' ? 0 : which + 1, ...body), 0.3);
  }

  slotRecordFor(slot: number, state: number, header: ImageHeader | null, progress = 0): Omit<SlotRecord, 'seq' | 'crc'> {
    return {
      state, reserved: 0, dataAddr: this.layout.dataStart + slot * this.layout.slotSize, capacity: this.layout.slotSize, progress,
      header: header ?? decodeStruct('ImageHeader', new Uint8Array(36)),
    };
  }

  /** The host's format: records first, the superblock last. */
  format(layout = planLayout(this.chip)): void {
    this.layout = layout;
    expect(this.record('boot', { state: BootState.IDLE, flags: 0, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT, result: 0, attempts: 0, reserved: new Uint8Array(3) })).toBe(Status.OK);
    for (let i = 0; i < layout.slotCount; i++) expect(this.record(i, this.slotRecordFor(i, SlotState.EMPTY, null))).toBe(Status.OK);
    expect(this.superblock(encodeSuperblock(layout))).toBe(Status.OK);
  }

  superblock(bytes: Uint8Array): number {
    return this.status(Msg.SUPERBLOCK, bytes, 0.3);
  }

  begin(length: number, slot = 0, chunkSize = this.chunk, startChunk = 0): number {
    return this.status(Msg.BEGIN, encodeStruct('BeginRequest', { slot, reserved: 0, chunkSize, length, startChunk, reserved2: 0 }));
  }

  /** The host's BEGIN: the slot record RECEIVING with this header, then the transfer. */
  start(header: ImageHeader, slot = 0): void {
    expect(this.record(slot, this.slotRecordFor(slot, SlotState.RECEIVING, header))).toBe(Status.OK);
    expect(this.begin(header.length, slot)).toBe(Status.OK);
  }

  crc(slot: number, length: number, seconds = 2) {
    const r = this.request(Msg.CRC, encodeStruct('CrcRequest', { slot, reserved: new Uint8Array(3), length }), seconds)!;
    return r.payload.length === 8 ? decodeStruct('CrcReply', r.payload) : { status: r.payload[0], crc: -1 };
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
    const inflight = new Map<number, number>();
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
      if (!got) for (const c of inflight.keys()) this.data(c, payload.subarray(c * this.chunk, (c + 1) * this.chunk));
    }
    return { cumulative, seconds: this.node.seconds - t0 };
  }

  /** The newest valid record, read straight from the simulated EEPROM. */
  bootRecord(): BootRecord | null {
    const [a, b] = recordAddrs(128, 'boot');
    return pickRecord(decodeRecord('BootRecord', this.mem.subarray(a, a + 16)), decodeRecord('BootRecord', this.mem.subarray(b, b + 16))).record;
  }

  slotRecord(slot = 0): SlotRecord | null {
    const [a, b] = recordAddrs(128, slot);
    return pickRecord(decodeRecord('SlotRecord', this.mem.subarray(a, a + 56)), decodeRecord('SlotRecord', this.mem.subarray(b, b + 56))).record;
  }
}

describe('StageBoot on the simulated node (SerialNode, 24LC256)', () => {
  it('reports itself in INFO, leaves a blank EEPROM alone and takes the host\'s layout', () => {
    const s = boot('24LC256', false);
    expect(s.cycles).toBe(0);
    const blank = s.info();
    expect(blank).toMatchObject({ status: Status.OK, protocol: 2, window: 2, blVersion: 0xffff, maxChunk: 64, pageSize: 64, slotCount: 0, chipSize: 32768 });
    expect([...blank.signature]).toEqual([...SIG]);
    expect(blank).toMatchObject({ appVersion: 0x010000, appLen: s.appLen, appCrc: crc32(s.node.flash.subarray(0, s.appLen)) });
    expect(s.begin(100)).toBe(Status.NOT_FORMATTED);
    expect(s.cycles).toBe(0);
    s.format();
    expect(s.info().slotCount).toBe(1);
    expect(decodeSuperblock(s.mem.subarray(0, 28))).toMatchObject({ chipSize: 32768, slotCount: 1, dataStart: 640, slotSize: 32128 });
    expect(s.bootRecord()).toMatchObject({ state: BootState.IDLE, seq: 1, current: NO_SLOT });
    expect(s.slotRecord()).toMatchObject({ state: SlotState.EMPTY, seq: 1, dataAddr: 640 });
  });

  it('writes RECORDs A/B with the next seq and a fresh CRC, and refuses a stale or malformed one', () => {
    const s = boot();
    const [a, b] = recordAddrs(128, 0);
    const rec = s.slotRecordFor(0, SlotState.BAD, null);
    expect(s.record(0, rec)).toBe(Status.OK); // seq 1 is in copy A (format), so B gets seq 2
    expect(decodeRecord('SlotRecord', s.mem.subarray(b, b + 56))).toMatchObject({ seq: 2, state: SlotState.BAD });
    expect(s.record(0, { ...rec, state: SlotState.EMPTY })).toBe(Status.OK);
    expect(decodeRecord('SlotRecord', s.mem.subarray(a, a + 56))).toMatchObject({ seq: 3, state: SlotState.EMPTY });
    const cycles = s.cycles;
    expect(s.record(0, rec, 2)).toBe(Status.STALE); // based on seq 2, but 3 is the newest
    const body = encodeRecord('SlotRecord', { ...rec, seq: 3, crc: 0 } as SlotRecord).subarray(0, -4);
    expect(s.status(Msg.RECORD, Uint8Array.of(1, ...body.subarray(0, 40)))).toBe(Status.BAD_FRAME); // short
    expect(s.status(Msg.RECORD, Uint8Array.of(1, ...body, 0, 0, 0, 0))).toBe(Status.BAD_FRAME); // with a CRC field
    expect(s.status(Msg.RECORD, Uint8Array.of(0, ...body))).toBe(Status.BAD_FRAME); // slot-sized boot record
    expect(s.status(Msg.RECORD, Uint8Array.of(9, ...body))).toBe(Status.BAD_FRAME); // no slot 8
    expect(s.cycles).toBe(cycles);
    expect(s.slotRecord()).toMatchObject({ seq: 3, state: SlotState.EMPTY });
  });

  it('receives an image with pipelined DATA, persists its progress and computes its CRC from the EEPROM', () => {
    const s = boot();
    const { payload, header } = image(9000, 1);
    s.start(header);
    const { seconds } = s.push(payload);
    // Progress is persisted every 32 chunks (2 KiB): the last persist is at 8192.
    expect(s.slotRecord()).toMatchObject({ state: SlotState.RECEIVING, progress: 8192 });
    expect(s.crc(0, payload.length)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    expect(s.mem.subarray(640, 640 + payload.length)).toEqual(payload);
    expect(s.node.uart.overruns).toBe(0);
    // Pipelined: the next chunk travels during the write cycle (stop-and-wait stays near 7.3 KB/s;
    // the 24LC256's page-write limit is about 9.8 KB/s). Simulated time: deterministic.
    expect(payload.length / seconds).toBeGreaterThan(8000);
    // CRC ended the transfer: no more chunks, no more progress rewrites; CRC again is the same.
    s.data(3, payload.subarray(192, 256));
    s.node.runFor(0.02);
    expect(s.acks().map((a) => a.status)).toEqual([Status.NOT_RECEIVING]);
    expect(s.crc(0, payload.length).crc).toBe(header.payloadCrc);
    expect(s.crc(0, 100).crc).toBe(crc32(payload.subarray(0, 100)));
  });

  it('re-acknowledges duplicates without rewriting them, ignores corrupted frames and keeps a selective bitmap', () => {
    const s = boot();
    const { payload, header } = image(1920, 2);
    s.start(header);
    s.push(payload.subarray(0, 5 * 64).slice(), 0, 2);
    s.node.runFor(0.01);
    const cycles = s.cycles;
    s.data(2, payload.subarray(128, 192));
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 5, selective: 0 }]);
    expect(s.cycles).toBe(cycles);
    const frame = encodeFrame({ type: Msg.DATA, seq: 77, payload: encodeStruct('DataRequest', { chunk: 5, data: payload.subarray(320, 384) }) });
    frame[20] ^= 0x10;
    s.node.uart.write(frame);
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([]);
    s.data(5, payload.subarray(320, 384));
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 6, selective: 0 }]);
    s.data(7, payload.subarray(448, 512)); // out of order: chunk 7 before 6
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 6, selective: 0b1 }]);
    s.data(6 + 17, new Uint8Array(64)); // beyond the bitmap: dropped without an ACK
    s.data(9, payload.subarray(576, 600)); // a short middle chunk
    s.node.runFor(0.03);
    expect(s.acks()).toEqual([{ status: Status.BAD_FRAME, reserved: 0, cumulative: 6, selective: 0b1 }]);
    s.push(payload, 6);
    expect(s.crc(0, payload.length).crc).toBe(header.payloadCrc);
  });

  it('resumes after a reset from the progress it persisted, and REBOOT persists first', () => {
    const s1 = boot();
    const { payload, header } = image(6000, 3);
    s1.start(header);
    s1.push(payload, 0, 2, 40); // 40 chunks, then a reset
    s1.node.runFor(0.02);
    expect(s1.slotRecord()!.progress).toBe(2048);
    s1.node.reset('external');
    const s = new Session(s1.node, s1.chip, s1.appLen);
    const from = s.slotRecord()!.progress / 64;
    expect(s.begin(payload.length, 0, 64, from)).toBe(Status.OK);
    s.push(payload, from, 2, 10); // 10 more, then REBOOT: the node writes its progress first
    s.node.runFor(0.02);
    const resets = s.node.resets.length;
    expect(s.status(Msg.REBOOT)).toBe(Status.OK);
    const s2 = new Session(s.node, s.chip, s.appLen); // runs until the banner after the reset
    expect(s.node.resets.slice(resets).map((r) => r.cause)).toEqual(['watchdog']);
    expect(s.slotRecord()!.progress).toBe((32 + 10) * 64);
    expect(s2.begin(payload.length, 0, 64, 42)).toBe(Status.OK);
    s2.push(payload, 42);
    expect(s2.crc(0, payload.length).crc).toBe(header.payloadCrc);
    expect(s2.mem.subarray(640, 640 + payload.length)).toEqual(payload);
  });

  it('refuses bad BEGIN, CRC, READ and unknown requests without writing anything', () => {
    const s = boot();
    const before = s.mem.slice();
    const cycles = s.cycles;
    expect(s.begin(1000, 1)).toBe(Status.BAD_SLOT);
    expect(s.begin(1000, 0, 128)).toBe(Status.BAD_FRAME); // larger than a 24LC256 page and maxChunk
    expect(s.begin(1000, 0, 48)).toBe(Status.BAD_FRAME); // not a power of two
    expect(s.begin(1000, 0, 8)).toBe(Status.BAD_FRAME); // below CHUNK_MIN
    expect(s.begin(0)).toBe(Status.TOO_BIG);
    expect(s.begin(32129)).toBe(Status.TOO_BIG); // one byte more than the slot
    expect(s.begin(0x10040)).toBe(Status.TOO_BIG);
    expect(s.begin(1000, 0, 64, 17)).toBe(Status.BAD_RANGE); // 16 chunks in all
    expect(s.crc(0, 0).status).toBe(Status.BAD_RANGE);
    expect(s.crc(0, 32129).status).toBe(Status.BAD_RANGE);
    expect(s.crc(1, 10).status).toBe(Status.BAD_SLOT);
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 0, length: 0 }))).toBe(Status.BAD_RANGE);
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 0, length: 65 }))).toBe(Status.BAD_RANGE);
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 0x1000000, length: 1 }))).toBe(Status.BAD_RANGE);
    expect(s.status(Msg.INFO, Uint8Array.of(1))).toBe(Status.BAD_FRAME);
    expect(s.status(0x55)).toBe(Status.UNKNOWN_TYPE);
    expect(s.status(0)).toBe(Status.UNKNOWN_TYPE);
    s.data(0, new Uint8Array(64));
    s.node.runFor(0.01);
    expect(s.acks().map((a) => a.status)).toEqual([Status.NOT_RECEIVING]);
    expect(s.cycles).toBe(cycles);
    expect(s.mem).toEqual(before);
  });

  it('takes a layout only from a valid superblock for its chip, and keeps working after garbage', () => {
    const s = boot();
    s.node.uart.write(Uint8Array.of(0x7e, 0x30, 1, 2, 3)); // a stray SOF claiming 48 bytes
    s.node.runFor(0.01);
    expect(s.info().status).toBe(Status.OK); // dropped once the line went quiet
    expect(s.superblock(encodeSuperblock(planLayout(chips['24LC512'])))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(0); // another chip's layout: not formatted
    const bad = encodeSuperblock(planLayout(chips['24LC256']));
    bad[10] ^= 1;
    expect(s.superblock(bad)).toBe(Status.OK);
    expect(s.info().slotCount).toBe(0);
    const nine = planLayout(chips['24LC256'], 8);
    nine.slotCount = 9;
    nine.crc = crc32(encodeSuperblock(nine).subarray(0, 24));
    expect(s.superblock(encodeSuperblock(nine))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(0);
    expect(s.status(Msg.SUPERBLOCK, new Uint8Array(27))).toBe(Status.BAD_FRAME);
    expect(s.superblock(encodeSuperblock(planLayout(chips['24LC256'], 2)))).toBe(Status.OK);
    expect(s.info().slotCount).toBe(2);
    expect(decodeSuperblock(s.mem.subarray(0, 28))?.slotCount).toBe(2);
  });

  it('answers slot requests NOT_FORMATTED until it has a layout, and follows a new one', () => {
    const s = boot('24LC256', false);
    expect(s.crc(0, 10).status).toBe(Status.NOT_FORMATTED);
    expect(s.status(Msg.BACKUP, Uint8Array.of(0))).toBe(Status.NOT_FORMATTED);
    // RECORD works unformatted (the host writes the records before the superblock), up to slot 7.
    expect(s.record(7, s.slotRecordFor(7, SlotState.EMPTY, null))).toBe(Status.OK);
    expect(s.cycles).toBe(1);
    // Eight slots of 3,776 B: BEGIN's limit and BACKUP's follow the slot size.
    const eight = planLayout(chips['24LC256'], 8);
    s.format(eight);
    expect(s.info().slotCount).toBe(8);
    expect(s.begin(eight.slotSize + 1)).toBe(Status.TOO_BIG);
    const cycles = s.cycles;
    expect(s.begin(eight.slotSize, 7)).toBe(Status.OK); // opens the transfer, writes nothing
    expect(s.cycles).toBe(cycles);
    expect(s.appLen).toBeGreaterThan(eight.slotSize);
    expect(s.status(Msg.BACKUP, Uint8Array.of(1))).toBe(Status.TOO_BIG);
    expect(s.cycles).toBe(cycles);
  });

  it('ends a transfer when the host rewrites that slot\'s record, and a resent RECORD is STALE', () => {
    const s = boot();
    const { payload, header } = image(1000, 13);
    s.start(header);
    s.push(payload.subarray(0, 256).slice());
    const rec = s.slotRecordFor(0, SlotState.EMPTY, null);
    const seq = s.slotRecord()!.seq;
    expect(s.record(0, rec)).toBe(Status.OK);
    expect(s.record(0, rec, seq)).toBe(Status.STALE); // the same request again (its reply lost)
    expect(s.slotRecord()).toMatchObject({ seq: seq + 1, state: SlotState.EMPTY });
    s.data(4, payload.subarray(256, 320));
    s.node.runFor(0.02);
    expect(s.acks().map((a) => a.status)).toEqual([Status.NOT_RECEIVING]);
    // After a reset nothing is open either; a transfer may start at its last chunk.
    s.node.reset('external');
    const s2 = new Session(s.node, s.chip, s.appLen);
    s2.data(0, payload.subarray(0, 64));
    s2.node.runFor(0.02);
    expect(s2.acks().map((a) => a.status)).toEqual([Status.NOT_RECEIVING]);
    expect(s2.begin(1000, 0, 64, 16)).toBe(Status.OK); // 16 chunks: all written already
    s2.data(16, payload.subarray(0, 64));
    s2.data(15, payload.subarray(960));
    s2.node.runFor(0.03);
    expect(s2.acks()).toEqual([
      { status: Status.BAD_RANGE, reserved: 0, cumulative: 16, selective: 0 },
      { status: Status.OK, reserved: 0, cumulative: 16, selective: 0 }, // re-acknowledged, not rewritten
    ]);
    expect(s2.status(Msg.BEGIN, new Uint8Array(11))).toBe(Status.BAD_FRAME);
  });

  it('READ returns raw EEPROM bytes, up to maxChunk', () => {
    const s = boot();
    const r = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: 0, length: 64 }))!;
    expect(r.payload[0]).toBe(Status.OK);
    expect(r.payload.subarray(1)).toEqual(s.mem.subarray(0, 64));
  });
});

describe('StageBoot backup and confirm (SerialNode-24LC512: two slots)', () => {
  it('copies its own flash with BACKUP, and CONFIRM ends a trial once', () => {
    const s = boot('24LC512');
    expect(s.info()).toMatchObject({ chipSize: 65536, pageSize: 128, slotCount: 2, maxChunk: 128 });
    const before = s.slotRecord(1);
    expect(s.status(Msg.BACKUP, Uint8Array.of(1), 5)).toBe(Status.OK);
    const own = s.node.flash.subarray(0, s.appLen);
    const addr = s.layout.dataStart + s.layout.slotSize;
    expect(s.mem.subarray(addr, addr + s.appLen)).toEqual(own);
    expect(s.slotRecord(1)).toEqual(before); // BACKUP writes no record: the host does
    expect(s.crc(1, s.appLen).crc).toBe(s.info().appCrc);
    expect(s.status(Msg.BACKUP, Uint8Array.of(2))).toBe(Status.BAD_SLOT);
    expect(s.status(Msg.CONFIRM)).toBe(Status.NOT_TRIAL);

    // What the bootloader leaves after installing slot 0 for trial: the watchdog runs.
    const trial = encodeRecord('BootRecord', {
      seq: 40, state: BootState.TRIAL, flags: BootFlag.TRIAL, slot: 0, current: 0, backup: 1,
      result: BootResult.INSTALLED, attempts: 0, reserved: new Uint8Array(3), crc: 0,
    });
    s.mem.set(trial, 128);
    s.mem.fill(0xff, 256, 272);
    s.node.reset('external');
    s.node.cpu.writeData(0x60, 0x18); // WDTCSR: WDCE | WDE, then WDE with 8 s, as the bootloader arms it
    s.node.cpu.writeData(0x60, 0x29);
    const s2 = new Session(s.node, s.chip, s.appLen);
    expect(s2.status(Msg.CONFIRM)).toBe(Status.OK);
    expect(s2.bootRecord()).toMatchObject({ state: BootState.IDLE, result: BootResult.CONFIRMED, backup: NO_SLOT, slot: 0, current: 0, seq: 41 });
    expect(s2.node.cpu.data[0x60] & 0x08).toBe(0); // watchdog off
    expect(s2.status(Msg.CONFIRM)).toBe(Status.OK); // a retried CONFIRM is harmless
    expect(s2.bootRecord()!.seq).toBe(41);
  });
});

describe('StageBoot with 128-byte chunks (SerialNode-24LC512: STAGEBOOT_MAX_CHUNK=128)', () => {
  it('takes a chunk per EEPROM page straight from its frame buffer, at 115200 without losing a byte', () => {
    const s = boot('24LC512');
    expect(s.info()).toMatchObject({ pageSize: 128, maxChunk: 128, window: 2 });
    s.chunk = 128;
    const { payload, header } = image(12000, 12);
    expect(s.begin(payload.length, 0, 256)).toBe(Status.BAD_FRAME);
    s.start(header);
    const cycles = s.cycles;
    s.push(payload);
    expect(s.node.uart.overruns).toBe(0);
    // One write cycle per chunk (94), plus the progress record every 32 chunks (2).
    expect(s.cycles - cycles).toBe(Math.ceil(payload.length / 128) + 2);
    expect(s.slotRecord()?.progress).toBe(2 * 4096);
    expect(s.crc(0, payload.length).crc).toBe(header.payloadCrc);
    const rec = s.slotRecord()!;
    expect(s.mem.subarray(rec.dataAddr, rec.dataAddr + payload.length)).toEqual(payload);
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: rec.dataAddr, length: 128 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0, 128));
  });
});

describe('StageBoot on a 24LC1025 (SerialNode-24LC1025: two 64 KiB banks)', () => {
  it('stages an image whose slot spans both banks, and reads either bank', () => {
    const s = boot('24LC1025');
    expect(s.info()).toMatchObject({ chipSize: 131072, pageSize: 128, slotCount: 4 });
    s.chunk = 128;
    const { payload, header } = image(32200, 11);
    s.start(header, 1);
    s.push(payload);
    expect(s.crc(1, payload.length, 3).crc).toBe(header.payloadCrc);
    const rec = s.slotRecord(1)!;
    expect(rec.dataAddr).toBeLessThan(0x10000);
    expect(rec.dataAddr + payload.length).toBeGreaterThan(0x10000); // the payload crosses into bank 1
    expect(s.mem.subarray(rec.dataAddr, rec.dataAddr + payload.length)).toEqual(payload);
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: 0x10000, length: 16 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0x10000 - rec.dataAddr, 0x10000 - rec.dataAddr + 16));
  });
});
