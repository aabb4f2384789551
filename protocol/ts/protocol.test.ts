import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layouts as genLayouts } from '../generated/protocol.ts';
import { layouts } from '../gen/layout.ts';
import { chips, parseChip } from './chips.ts';
import { crc16, crc32 } from './crc.ts';
import { FrameDecoder, encodeFrame } from './frame.ts';
import { decodeRecord, decodeSuperblock, pickRecord, planLayout, recordAddrs, encodeRecord } from './fs.ts';
import { decodeHeader, decodeImage, encodeImage, makeHeader } from './image.ts';
import { BootState, BootResult, FRAME_OVERHEAD, NO_SLOT, type BootRecord } from '../generated/protocol.ts';

const vec = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', 'vectors', name), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' '));
const unhex = (s: string) => (s === '-' ? new Uint8Array(0) : Uint8Array.from(Buffer.from(s, 'hex')));

describe('CRCs', () => {
  it('match the published check values', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc16(check)).toBe(0x29b1);
  });
  it.each(vec('crc32.txt'))('crc32 of %s', (input, want) => expect(crc32(unhex(input))).toBe(parseInt(want, 16)));
  it.each(vec('crc16.txt'))('crc16 of %s', (input, want) => expect(crc16(unhex(input))).toBe(parseInt(want, 16)));
});

describe('generated layouts', () => {
  it('agree with the spec offsets, and records fit in one 64-byte EEPROM page', () => {
    for (const l of layouts()) expect(genLayouts[l.name as keyof typeof genLayouts].size).toBe(l.size);
    expect(genLayouts.ImageHeader.size).toBe(36);
    expect(genLayouts.SlotRecord.size).toBeLessThanOrEqual(64);
    expect(genLayouts.BootRecord.size).toBeLessThanOrEqual(64);
  });

  it('give protocol 2\'s messages their sizes: INFO reply 28, BEGIN 12, CRC 8, SUPERBLOCK 28, a slot RECORD 53 (a 59-byte frame)', () => {
    expect(genLayouts.InfoReply.size).toBe(28);
    expect(genLayouts.BeginRequest.size).toBe(12);
    expect(genLayouts.CrcRequest.size).toBe(8);
    expect(genLayouts.CrcReply.size).toBe(8);
    expect(genLayouts.SuperblockRequest.size).toBe(genLayouts.Superblock.size);
    // RECORD carries the record without its CRC field: which + 52 bytes, inside a 61-byte radio packet.
    expect(genLayouts.RecordRequest.size + genLayouts.SlotRecord.size - 4).toBe(53);
    expect(genLayouts.RecordRequest.size + genLayouts.SlotRecord.size - 4 + FRAME_OVERHEAD).toBe(59);
    expect(genLayouts.RecordRequest.size + genLayouts.BootRecord.size - 4).toBe(13);
  });
});

describe('frames', () => {
  it.each(vec('frames.txt'))('type %s seq %s encodes to the vector', (type, seq, payload, frame) => {
    expect(Buffer.from(encodeFrame({ type: parseInt(type, 16), seq: parseInt(seq, 16), payload: unhex(payload) })).toString('hex')).toBe(frame);
  });

  it('resynchronises after garbage, a bad CRC and a bogus length', () => {
    const a = encodeFrame({ type: 4, seq: 1, payload: Uint8Array.of(1, 2, 3) });
    const b = encodeFrame({ type: 5, seq: 2, payload: Uint8Array.of(0x7e) });
    const corrupt = a.slice(); corrupt[5] ^= 0x40;
    const stream = Uint8Array.from([0x00, 0x7e, 0xff, 0x13, ...corrupt, 0x7e, ...a, ...b]);
    const d = new FrameDecoder();
    const got = [...stream].flatMap((byte) => d.push(Uint8Array.of(byte)));
    // The stray 0x7E before the good frame reads as a 126-byte frame still arriving...
    expect(got).toEqual([]);
    expect(d.pending).toBe(true);
    // ...until the line goes quiet.
    got.push(...d.idle());
    expect(got.map((f) => [f.type, f.seq])).toEqual([[4, 1], [5, 2]]);
    expect(d.pending).toBe(false);
    expect(d.crcErrors).toBeGreaterThan(0);
  });

  it('finds every frame when fed in arbitrary splits', () => {
    const frames = Array.from({ length: 20 }, (_, i) => encodeFrame({ type: i, seq: i, payload: new Uint8Array(i * 7).fill(0x7e) }));
    const all = Uint8Array.from(frames.flatMap((f) => [...f]));
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < all.length; i += 13) got.push(...d.push(all.subarray(i, i + 13)));
    expect(got.map((f) => f.type)).toEqual(frames.map((_, i) => i));
  });
});

describe('image header', () => {
  it.each(vec('images.txt'))('%s header of a %s-byte payload', (verdict, len, crc, header) => {
    const bytes = unhex(header);
    if (verdict === 'valid') {
      const h = decodeHeader(bytes);
      expect(h.length).toBe(Number(len));
      expect(h.payloadCrc).toBe(parseInt(crc, 16));
    } else {
      expect(() => decodeHeader(bytes)).toThrow(/header CRC/);
    }
  });

  it('round-trips an image and refuses a truncated or corrupted one', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => i * 7);
    const file = encodeImage({ header: makeHeader(payload, { signature: Uint8Array.of(0x1e, 0x95, 0x0f), appVersion: 3 }), payload });
    expect(decodeImage(file).payload).toEqual(payload);
    expect(() => decodeImage(file.subarray(0, file.length - 1))).toThrow(/truncated/);
    const bad = file.slice(); bad[100] ^= 1;
    expect(() => decodeImage(bad)).toThrow(/payload CRC/);
  });
});

describe('EEPROM layout', () => {
  it.each(vec('layouts.txt'))('a %s-byte chip with %s-byte pages and %s slots', (size, page, n, pitch, start, slotSize, sbHex) => {
    const sb = planLayout(parseChip(`${size}:${page}`), Number(n));
    expect([sb.recPitch, sb.dataStart, sb.slotSize]).toEqual([Number(pitch), Number(start), Number(slotSize)]);
    expect(decodeSuperblock(unhex(sbHex))).toEqual(sb);
  });

  it('gives a 24LC256 room for a full 31 KiB application in one slot', () => {
    const sb = planLayout(chips['24LC256']);
    expect(sb.slotCount).toBe(1);
    expect(sb.slotSize).toBeGreaterThanOrEqual(31 * 1024);
  });

  it('puts each record copy in its own page and all of them before the data', () => {
    for (const chip of Object.values(chips)) {
      const sb = planLayout(chip, 4);
      const addrs = [...recordAddrs(sb.recPitch, 'boot'), ...[0, 1, 2, 3].flatMap((i) => recordAddrs(sb.recPitch, i))];
      const pages = new Set(addrs.map((a) => Math.floor(a / chip.pageSize)));
      expect(pages.size).toBe(addrs.length);
      expect(Math.max(...addrs) + sb.recPitch).toBeLessThanOrEqual(sb.dataStart);
      expect(pages.has(0)).toBe(false); // page 0 is the superblock's
    }
  });
});

describe('records survive torn writes', () => {
  it.each(vec('records.txt'))('%s: picks the vector winner', (kind, a, b, winner, nextSeq, writeTo) => {
    const name = kind === 'boot' ? 'BootRecord' : 'SlotRecord';
    const p = pickRecord(decodeRecord(name, unhex(a)), decodeRecord(name, unhex(b)));
    expect(p.record === null ? 'none' : p.writeTo === 1 ? 'A' : 'B').toBe(winner);
    expect(p.nextSeq).toBe(Number(nextSeq));
    expect(p.writeTo === 0 ? 'A' : 'B').toBe(writeTo);
  });

  it('every subset of a torn write reads as the old state or the new one, never a mix', () => {
    const rec = (seq: number, state: number): BootRecord => ({ seq, state, flags: 0, slot: 1, current: 0, backup: NO_SLOT, result: BootResult.NONE, attempts: 0, reserved: new Uint8Array(3), crc: 0 });
    const old = encodeRecord('BootRecord', rec(41, BootState.PENDING));
    const prevCopy = encodeRecord('BootRecord', rec(40, BootState.IDLE)); // the copy the write overwrites
    const next = encodeRecord('BootRecord', rec(42, BootState.INSTALLING));
    let seed = 12345;
    for (let trial = 0; trial < 2000; trial++) {
      const torn = prevCopy.slice();
      for (let i = 0; i < torn.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        if (seed & 0x10000) torn[i] = next[i];
      }
      const p = pickRecord(decodeRecord('BootRecord', torn), decodeRecord('BootRecord', old));
      expect([BootState.PENDING, BootState.INSTALLING]).toContain(p.record!.state);
      if (p.record!.state === BootState.INSTALLING) expect(torn).toEqual(next);
    }
  });
});
