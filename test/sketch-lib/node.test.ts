// The Arduino library on the simulated ATmega328P: the SerialNode example (built with the real
// Arduino core) gets raw frames over its serial line, and the test checks the replies and what
// lands in the simulated 24LC256. No bootloader: these tests cover the runtime side only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Eeprom24, SimNode } from '../../host/src/sim/index.ts';
import {
  ActivateMode, BootState, Msg, NO_SLOT, REPLY_BIT, SlotState, Status, decodeRecord, decodeStruct, decodeSuperblock,
  encodeFrame, encodeHeader, encodeRecord, encodeStruct, encodeSuperblock, FrameDecoder, makeHeader, crc32, recordAddrs, pickRecord, ImageFlag,
  chips, planLayout,
  BootFlag, BootResult,
  type Frame, type ImageHeader, type SlotRecord,
} from '../../protocol/ts/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SIG = Uint8Array.of(0x1e, 0x95, 0x0f);
const CHUNK = 64;
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
  if (format) expect(s.format()).toBe(Status.OK);
  return s;
}

/** FORMAT's payload: the superblock the host plans for a chip. */
function superblock(chip = chips['24LC256'], slots?: number): Uint8Array {
  return encodeStruct('FormatRequest', { superblock: encodeSuperblock(planLayout(chip, slots)) });
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

  format(payload = superblock(Object.values(chips).find((c) => c.size === this.node.eeprom!.size)!)): number {
    return this.status(Msg.FORMAT, payload, 0.5);
  }

  info() {
    const r = this.request(Msg.INFO)!;
    return decodeStruct('InfoReply', r.payload);
  }

  begin(header: ImageHeader, slot = 0, chunkSize = this.chunk) {
    const r = this.request(Msg.BEGIN, encodeStruct('BeginRequest', { slot, reserved: 0, chunkSize, header }))!;
    return r.payload.length === 4 ? decodeStruct('BeginReply', r.payload) : { status: r.payload[0], reserved: 0, resumeChunk: -1 };
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

  /** The newest valid boot record, read straight from the simulated EEPROM. */
  bootRecord() {
    const mem = this.node.eeprom!.memory;
    return pickRecord(decodeRecord('BootRecord', mem.subarray(128, 144)), decodeRecord('BootRecord', mem.subarray(256, 272))).record;
  }

  /** The newest valid slot record, read straight from the simulated EEPROM. */
  slotRecord(slot = 0): SlotRecord | null {
    const mem = this.node.eeprom!.memory;
    const [a, b] = recordAddrs(128, slot);
    return pickRecord(decodeRecord('SlotRecord', mem.subarray(a, a + 56)), decodeRecord('SlotRecord', mem.subarray(b, b + 56))).record;
  }
}

function image(length: number, seed: number, signature = SIG) {
  let x = seed;
  const payload = Uint8Array.from({ length }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  return { payload, header: makeHeader(payload, { signature, appVersion: 0x020000 }) };
}

describe('StageBoot on the simulated node (SerialNode, 24LC256)', () => {
  it('leaves a blank EEPROM alone, reports its chip unformatted, and takes the host\'s layout', () => {
    const s = boot(undefined, hexText, false);
    const mem = s.node.eeprom!.memory;
    expect(s.node.eeprom!.writeCycles).toBe(0);
    expect(s.info()).toMatchObject({ status: Status.OK, chipSize: 32768, pageSize: 64, slotCount: 0 });
    expect(s.status(Msg.SLOT, Uint8Array.of(0))).toBe(Status.NOT_FORMATTED);
    expect(s.format()).toBe(Status.OK);
    const sb = decodeSuperblock(mem.subarray(0, 28));
    expect(sb).toMatchObject({ chipSize: 32768, pageSize: 64, slotCount: 1, recPitch: 128, dataStart: 640, slotSize: 32128 });
    expect(s.slotRecord()?.state).toBe(SlotState.EMPTY);
    const info = s.info();
    expect(info).toMatchObject({
      status: Status.OK, protocol: 1, bootState: BootState.IDLE, blVersion: 0xffff, flashSize: 32768, appMax: 0x7e00,
      chipSize: 32768, pageSize: 64, slotCount: 1, current: NO_SLOT, maxChunk: 64, window: 2, appVersion: 0x010000,
    });
    expect([...info.signature]).toEqual([...SIG]);
    expect(info.appCrc).toBe(crc32(s.node.flash.subarray(0, imageLen)));
  });

  it('receives an image with pipelined DATA, verifies it at END and marks the slot STAGED', () => {
    const s = boot();
    const { payload, header } = image(9000, 1);
    expect(s.begin(header)).toMatchObject({ status: Status.OK, resumeChunk: 0 });
    expect(s.slotRecord()).toMatchObject({ state: SlotState.RECEIVING, progress: 0 });
    const { seconds } = s.push(payload);
    const end = s.request(Msg.END, Uint8Array.of(0), 2)!;
    expect(decodeStruct('EndReply', end.payload)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    const rec = s.slotRecord()!;
    expect(rec).toMatchObject({ state: SlotState.STAGED, progress: payload.length, dataAddr: 640, capacity: 32128 });
    expect(encodeHeader(rec.header)).toEqual(encodeHeader(header));
    expect(s.node.eeprom!.memory.subarray(640, 640 + payload.length)).toEqual(payload);
    expect(s.node.uart.overruns).toBe(0);
    // Pipelined: the next chunk travels during the write cycle (stop-and-wait would stay near
    // 7.3 KB/s; the 24LC256 page-write limit is about 9.8 KB/s). Simulated time: deterministic.
    expect(payload.length / seconds).toBeGreaterThan(8000);
    // END again (its reply lost): no transfer any more, nothing rewritten; the host reads the
    // slot, STAGED (WIRE.md).
    const cycles = s.node.eeprom!.writeCycles;
    expect(s.status(Msg.END, Uint8Array.of(0))).toBe(Status.NOT_RECEIVING);
    expect(s.node.eeprom!.writeCycles).toBe(cycles);
    expect(s.slotRecord()?.state).toBe(SlotState.STAGED);
  });

  it('re-acknowledges duplicates without rewriting them, and ignores corrupted frames', () => {
    const s = boot();
    const { payload, header } = image(640, 2);
    s.begin(header);
    s.push(payload.subarray(0, 5 * CHUNK).slice(), 0, 2); // chunks 0..4 of the real payload
    s.node.runFor(0.01);
    const cycles = s.node.eeprom!.writeCycles;
    s.data(2, payload.subarray(2 * CHUNK, 3 * CHUNK));
    s.node.runFor(0.02);
    expect(s.acks()).toEqual([{ status: Status.OK, reserved: 0, cumulative: 5, selective: 0 }]);
    expect(s.node.eeprom!.writeCycles).toBe(cycles);
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
    expect(decodeStruct('EndReply', s.request(Msg.END, Uint8Array.of(0), 1)!.payload).status).toBe(Status.OK);
    expect(s.node.eeprom!.memory.subarray(640, 640 + payload.length)).toEqual(payload);
  });

  it('resumes after a reset from the progress it persisted', () => {
    const s1 = boot();
    const { payload, header } = image(6000, 3);
    s1.begin(header);
    s1.push(payload, 0, 2, 40); // 40 chunks = 2560 bytes, then the node resets
    s1.node.runFor(0.02);
    const persisted = s1.slotRecord()!.progress;
    expect(persisted).toBeGreaterThanOrEqual(2048);
    s1.node.reset('external');
    const s = new Session(s1.node);
    const r = s.begin(header);
    expect(r.status).toBe(Status.OK);
    expect(r.resumeChunk).toBe(persisted / CHUNK);
    s.push(payload, r.resumeChunk);
    expect(decodeStruct('EndReply', s.request(Msg.END, Uint8Array.of(0), 2)!.payload).status).toBe(Status.OK);
    expect(s.node.eeprom!.memory.subarray(640, 640 + payload.length)).toEqual(payload);
  });

  it('refuses a wrong target, an oversize image and a bad header before writing anything', () => {
    const s = boot();
    const before = s.node.eeprom!.memory.slice();
    const cycles = s.node.eeprom!.writeCycles;
    expect(s.begin(image(1000, 4, Uint8Array.of(0x1e, 0x95, 0x14)).header).status).toBe(Status.WRONG_TARGET);
    expect(s.begin(image(32200, 5).header).status).toBe(Status.TOO_BIG); // > the 32,128-byte slot
    const bad = image(1000, 6).header;
    bad.headerCrc ^= 1;
    expect(s.begin(bad).status).toBe(Status.BAD_HEADER);
    expect(s.begin(image(1000, 7).header, 1).status).toBe(Status.BAD_SLOT);
    expect(s.begin(image(1000, 7).header, 0, 200).status).toBe(Status.BAD_FRAME); // chunk > maxChunk
    expect(s.begin(image(1000, 7).header, 0, 48).status).toBe(Status.BAD_FRAME); // not a power of two
    expect(s.begin(image(1000, 7).header, 0, 8).status).toBe(Status.BAD_FRAME); // < CHUNK_MIN
    expect(s.status(Msg.END, Uint8Array.of(0))).toBe(Status.NOT_RECEIVING);
    s.data(0, new Uint8Array(64));
    s.node.runFor(0.01);
    expect(s.acks().map((a) => a.status)).toEqual([Status.NOT_RECEIVING]);
    expect(s.node.eeprom!.writeCycles).toBe(cycles);
    expect(s.node.eeprom!.memory).toEqual(before);
  });

  it('answers END with BAD_CRC and marks the slot BAD when the payload does not match its header', () => {
    const s = boot();
    const { payload, header } = image(1000, 8);
    s.begin(header);
    const wrong = payload.slice();
    wrong[500] ^= 0xff;
    s.push(wrong);
    expect(decodeStruct('EndReply', s.request(Msg.END, Uint8Array.of(0), 1)!.payload)).toMatchObject({ status: Status.BAD_CRC, crc: crc32(wrong) });
    expect(s.slotRecord()?.state).toBe(SlotState.BAD);
    expect(s.status(Msg.ACTIVATE, Uint8Array.of(0, ActivateMode.NOW))).toBe(Status.NOT_STAGED);
  });

  it('activates for the next reset, refuses a trial without backup room, and erases only a free slot', () => {
    const s = boot();
    const { payload, header } = image(700, 9);
    s.begin(header);
    s.push(payload);
    expect(s.status(Msg.END, Uint8Array.of(0), 1)).toBe(Status.OK);
    expect(s.status(Msg.ACTIVATE, Uint8Array.of(0, ActivateMode.TRIAL))).toBe(Status.NO_BACKUP_ROOM);
    expect(s.status(Msg.ACTIVATE, Uint8Array.of(0, ActivateMode.NEXT_RESET))).toBe(Status.OK);
    const boot_ = decodeStruct('BootReply', s.request(Msg.BOOT)!.payload).record;
    expect(boot_).toMatchObject({ state: BootState.PENDING, slot: 0, flags: 0, backup: NO_SLOT });
    // SLOT: the raw record, exactly as in the EEPROM (the host derives roles from BOOT).
    const slot = s.request(Msg.SLOT, Uint8Array.of(0))!.payload;
    expect(slot[0]).toBe(Status.OK);
    expect(slot.subarray(1)).toEqual(encodeRecord('SlotRecord', s.slotRecord()!));
    expect(s.slotRecord()).toMatchObject({ state: SlotState.STAGED, progress: 700 });
    expect(s.status(Msg.ERASE, Uint8Array.of(0))).toBe(Status.SLOT_IN_USE);
    expect(s.status(Msg.CONFIRM)).toBe(Status.NOT_TRIAL);
    // READ returns raw EEPROM bytes: the first payload bytes of slot 0.
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: 640, length: 64 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0, 64));
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 32760, length: 16 }))).toBe(Status.BAD_RANGE);
  });

  it('reformats on FORMAT and keeps working after garbage on the line', () => {
    const s = boot();
    s.node.uart.write(Uint8Array.of(0x7e, 0x30, 1, 2, 3)); // a stray SOF claiming 48 bytes
    s.node.runFor(0.01);
    expect(s.info().status).toBe(Status.OK); // the node dropped it when the line went quiet
    expect(s.format()).toBe(Status.OK);
    // Refused, nothing written: a superblock for another chip, a bad CRC, too many slots.
    const cycles = s.node.eeprom!.writeCycles;
    expect(s.format(superblock(chips['24LC512']))).toBe(Status.BAD_FRAME);
    const bad = superblock();
    bad[10] ^= 1;
    expect(s.format(bad)).toBe(Status.BAD_FRAME);
    const nine = planLayout(chips['24LC256'], 8);
    nine.slotCount = 9;
    nine.crc = crc32(encodeSuperblock(nine).subarray(0, 24));
    expect(s.format(encodeStruct('FormatRequest', { superblock: encodeSuperblock(nine) }))).toBe(Status.BAD_FRAME);
    expect(s.status(Msg.FORMAT, Uint8Array.of(1))).toBe(Status.BAD_FRAME); // the old one-byte FORMAT
    expect(s.node.eeprom!.writeCycles).toBe(cycles);
    expect(s.status(0x55)).toBe(Status.UNKNOWN_TYPE);
    expect(s.status(Msg.SLOT, new Uint8Array(3))).toBe(Status.BAD_FRAME);
    expect(decodeSuperblock(s.node.eeprom!.memory.subarray(0, 28))?.slotCount).toBe(1);
  });
});

describe('StageBoot trial activation (SerialNode-24LC512: two slots)', () => {
  it('saves its own flash as the backup, marks the trial PENDING, reboots, and confirms a trial', () => {
    const s = boot(new Eeprom24({ model: '24LC512' }), hex512);
    expect(s.info()).toMatchObject({ chipSize: 65536, pageSize: 128, slotCount: 2 });
    const { payload, header } = image(3000, 10);
    s.begin(header);
    s.push(payload);
    expect(s.status(Msg.END, Uint8Array.of(0), 1)).toBe(Status.OK);
    const resets = s.node.resets.length;
    // The reply comes after the copy of ~10 KB of flash and its CRC from the EEPROM.
    expect(s.status(Msg.ACTIVATE, Uint8Array.of(0, ActivateMode.TRIAL), 5)).toBe(Status.OK);
    s.node.runFor(0.1);
    expect(s.node.resets.slice(resets).map((r) => r.cause)).toEqual(['watchdog']);
    expect(s.bootRecord()).toMatchObject({ state: BootState.PENDING, flags: BootFlag.TRIAL, slot: 0, backup: 1 });
    const backup = s.slotRecord(1)!;
    const own = s.node.flash.subarray(0, imageLen);
    expect(backup).toMatchObject({ state: SlotState.STAGED, progress: imageLen });
    expect(backup.header).toMatchObject({ length: imageLen, payloadCrc: crc32(own), flags: ImageFlag.CONFIRMS, appVersion: 0x010000 });
    const dataStart = decodeSuperblock(s.node.eeprom!.memory.subarray(0, 28))!.dataStart;
    expect(s.node.eeprom!.memory.subarray(backup.dataAddr, backup.dataAddr + imageLen)).toEqual(own);
    expect(backup.dataAddr).toBe(dataStart + 32256);

    // What the bootloader leaves after installing slot 0 for trial; then the app confirms.
    const trial = encodeRecord('BootRecord', {
      seq: 40, state: BootState.TRIAL, flags: BootFlag.TRIAL, slot: 0, current: 0, backup: 1,
      result: BootResult.INSTALLED, attempts: 0, reserved: new Uint8Array(3), crc: 0,
    });
    s.node.eeprom!.memory.set(trial, 128);
    s.node.eeprom!.memory.fill(0xff, 256, 272);
    const s2 = new Session((s.node.reset('external'), s.node));
    expect(s2.info()).toMatchObject({ bootState: BootState.TRIAL, current: 0 });
    expect(s2.status(Msg.ERASE, Uint8Array.of(1))).toBe(Status.SLOT_IN_USE); // the trial's backup
    expect(s2.status(Msg.CONFIRM)).toBe(Status.OK);
    expect(s2.bootRecord()).toMatchObject({ state: BootState.IDLE, result: BootResult.CONFIRMED, backup: NO_SLOT, seq: 41 });
    expect(s2.status(Msg.CONFIRM)).toBe(Status.OK); // a retried CONFIRM is harmless
  });
});

describe('StageBoot with 128-byte chunks (SerialNode-24LC512: STAGEBOOT_MAX_CHUNK=128)', () => {
  it('takes a chunk per EEPROM page straight from its frame buffer, at 115200 without losing a byte', () => {
    const s = boot(new Eeprom24({ model: '24LC512' }), hex512);
    expect(s.info()).toMatchObject({ pageSize: 128, maxChunk: 128, window: 2 });
    s.chunk = 128;
    const { payload, header } = image(12000, 12);
    expect(s.begin(header, 0, 256).status).toBe(Status.BAD_FRAME); // > maxChunk
    expect(s.begin(header)).toMatchObject({ status: Status.OK, resumeChunk: 0 });
    const cycles = s.node.eeprom!.writeCycles;
    s.push(payload); // two frames in flight, as the host does with window 2
    expect(s.node.uart.overruns).toBe(0);
    // One write cycle per chunk (94), plus the progress record every 32 chunks (2).
    expect(s.node.eeprom!.writeCycles - cycles).toBe(Math.ceil(payload.length / 128) + 2);
    expect(s.slotRecord()?.progress).toBe(2 * 4096);
    expect(decodeStruct('EndReply', s.request(Msg.END, Uint8Array.of(0), 2)!.payload)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    const rec = s.slotRecord()!;
    expect(s.node.eeprom!.memory.subarray(rec.dataAddr, rec.dataAddr + payload.length)).toEqual(payload);
    // READ takes up to maxChunk bytes too.
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: rec.dataAddr, length: 128 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0, 128));
  });
});

describe('StageBoot on a 24LC1025 (SerialNode-24LC1025: two 64 KiB banks)', () => {
  it('stages an image whose slot spans both banks, and refuses a READ across them', () => {
    const s = boot(new Eeprom24({ model: '24LC1025' }), hex1025);
    expect(s.info()).toMatchObject({ chipSize: 131072, pageSize: 128, slotCount: 4 });
    const { payload, header } = image(32200, 11);
    expect(s.begin(header, 1)).toMatchObject({ status: Status.OK, resumeChunk: 0 });
    s.push(payload);
    expect(decodeStruct('EndReply', s.request(Msg.END, Uint8Array.of(1), 3)!.payload)).toMatchObject({ status: Status.OK, crc: header.payloadCrc });
    const rec = s.slotRecord(1)!;
    expect(rec.dataAddr).toBeLessThan(0x10000);
    expect(rec.dataAddr + payload.length).toBeGreaterThan(0x10000); // the payload crosses into bank 1
    expect(s.node.eeprom!.memory.subarray(rec.dataAddr, rec.dataAddr + payload.length)).toEqual(payload);
    const read = s.request(Msg.READ, encodeStruct('ReadRequest', { addr: 0x10000, length: 16 }))!;
    expect(read.payload.subarray(1)).toEqual(payload.subarray(0x10000 - rec.dataAddr, 0x10000 - rec.dataAddr + 16));
    expect(s.status(Msg.READ, encodeStruct('ReadRequest', { addr: 0x10000 - 8, length: 16 }))).toBe(Status.BAD_RANGE);
  });
});
