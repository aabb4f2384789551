// Intel HEX (record types 00-05) as avr-objcopy, avrdude and the Arduino IDE write it.
//
// Addressing follows the Intel specification: after an 02 (extended segment) record a data
// address is base + (offset mod 64 KiB), so a record wraps inside its segment; after an 04
// (extended linear) record it is base + offset with no wrap. avr-objcopy writes 02 records
// for images below 1 MiB (an ATmega2560 image has them) and never lets a record cross a
// 64 KiB boundary, so both readings agree on real files.
import { HexError, type HexFault } from './errors.ts';
import { hex, normalizeSegments, type Segment } from './memory.ts';

export interface IhexImage {
  segments: Segment[];
  /** From an 05 record: a 32-bit entry point (EIP). */
  startLinear?: number;
  /** From an 03 record: CS:IP. */
  startSegment?: { cs: number; ip: number };
}

const RECORD_NAMES = ['data', 'end-of-file', 'extended segment address', 'start segment address', 'extended linear address', 'start linear address'];
/** Data bytes each non-data record type must hold. */
const FIXED_LENGTH: Record<number, number> = { 1: 0, 2: 2, 3: 4, 4: 2, 5: 4 };

interface Chunk {
  address: number;
  data: Uint8Array;
  line: number;
  /** Column of the first data byte of this chunk on its line, for overlap reports. */
  column: number;
}

/** Reads Intel HEX text (or its bytes) into sorted, merged segments. Throws HexError. */
export function parseIhex(input: string | Uint8Array, name = 'input.hex'): IhexImage {
  // latin1 maps every byte to one character, so a stray byte is reported at its column.
  let text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  text = text.replace(/^(\uFEFF|\xEF\xBB\xBF)/, '');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const fail = (fault: HexFault, line: number, detail: string, column?: number): never => {
    throw new HexError(name, fault, line, detail, column);
  };

  const chunks: Chunk[] = [];
  const image: IhexImage = { segments: [] };
  let base = 0;
  let segmentMode = false;
  let eofLine = 0;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].replace(/\s+$/, '');
    if (line === '') continue;
    if (eofLine) fail('data-after-eof', lineNo, `data after the end-of-file record on line ${eofLine}`, 1);
    const bytes = decodeLine(line, lineNo, fail);
    const count = bytes[0];
    const offset = (bytes[1] << 8) | bytes[2];
    const type = bytes[3];
    if (bytes.length !== count + 5) {
      fail('byte-count', lineNo, `byte count is ${count} (0x${count.toString(16).toUpperCase().padStart(2, '0')}), but the record holds ${bytes.length - 5} data bytes`, 2);
    }
    checkChecksum(bytes, lineNo, fail);
    if (type > 5) fail('unknown-record-type', lineNo, `unknown record type 0x${type.toString(16).toUpperCase().padStart(2, '0')} (Intel HEX has 00 to 05)`, 8);
    if (type !== 0 && count !== FIXED_LENGTH[type]) {
      fail('record-length', lineNo, `an ${RECORD_NAMES[type]} record (0${type}) holds ${FIXED_LENGTH[type]} data bytes, this one holds ${count}`, 2);
    }
    const data = bytes.subarray(4, 4 + count);
    const word = (data[0] << 8) | data[1];
    switch (type) {
      case 0:
        chunks.push(...placeData(data, offset, base, segmentMode, lineNo));
        break;
      case 1:
        eofLine = lineNo;
        break;
      case 2:
        base = word << 4;
        segmentMode = true;
        break;
      case 3:
        image.startSegment = { cs: word, ip: (data[2] << 8) | data[3] };
        break;
      case 4:
        base = word * 0x10000;
        segmentMode = false;
        break;
      case 5:
        image.startLinear = (word * 0x10000 + ((data[2] << 8) | data[3])) >>> 0;
        break;
    }
  }
  if (!eofLine) fail('missing-eof', lines.length + 1, 'the file ends without an end-of-file record (:00000001FF)');
  checkOverlaps(chunks, fail);
  image.segments = normalizeSegments(chunks);
  return image;
}

type Fail = (fault: HexFault, line: number, detail: string, column?: number) => never;

function decodeLine(line: string, lineNo: number, fail: Fail): Uint8Array {
  if (line[0] !== ':') fail('missing-start-code', lineNo, `the line does not start with ':' (found ${JSON.stringify(line[0])})`, 1);
  for (let c = 1; c < line.length; c++) {
    if (!isHexDigit(line.charCodeAt(c))) fail('non-hex', lineNo, `${JSON.stringify(line[c])} at column ${c + 1} is not a hex digit`, c + 1);
  }
  const digits = line.length - 1;
  if (digits % 2 !== 0) fail('odd-length', lineNo, `the record has ${digits} hex digits, an odd number: its last byte is incomplete`, line.length);
  if (digits < 10) fail('byte-count', lineNo, `the record is ${digits / 2} bytes long, shorter than the 5 every record needs`, 2);
  return Uint8Array.from(Buffer.from(line.slice(1), 'hex'));
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function checkChecksum(bytes: Uint8Array, lineNo: number, fail: Fail): void {
  let sum = 0;
  for (let i = 0; i < bytes.length - 1; i++) sum += bytes[i];
  const expected = -sum & 0xff;
  const actual = bytes[bytes.length - 1];
  if (actual !== expected) fail('checksum', lineNo, `checksum is ${hex(actual, 2)}, expected ${hex(expected, 2)}`, bytes.length * 2);
}

/** Splits a data record where it wraps inside its 64 KiB segment (02 addressing only). */
function placeData(data: Uint8Array, offset: number, base: number, segmentMode: boolean, line: number): Chunk[] {
  if (!segmentMode || offset + data.length <= 0x10000) return [{ address: base + offset, data, line, column: 10 }];
  const first = 0x10000 - offset;
  return [
    { address: base + offset, data: data.subarray(0, first), line, column: 10 },
    { address: base, data: data.subarray(first), line, column: 10 + 2 * first },
  ];
}

/** Same bytes written twice is harmless (some tools repeat records); different bytes are not. */
function checkOverlaps(chunks: Chunk[], fail: Fail): void {
  const order = chunks.map((_, i) => i).sort((a, b) => chunks[a].address - chunks[b].address || a - b);
  // Walk in address order keeping, for the covered range so far, the chunk reaching furthest;
  // only chunks that start before that reach can collide.
  const active: number[] = [];
  for (const idx of order) {
    const c = chunks[idx];
    for (let k = active.length - 1; k >= 0; k--) {
      const o = chunks[active[k]];
      if (o.address + o.data.length <= c.address) active.splice(k, 1);
    }
    for (const j of active) compareChunks(chunks[Math.min(j, idx)], chunks[Math.max(j, idx)], fail);
    active.push(idx);
  }
}

function compareChunks(earlier: Chunk, later: Chunk, fail: Fail): void {
  const lo = Math.max(earlier.address, later.address);
  const hi = Math.min(earlier.address + earlier.data.length, later.address + later.data.length);
  for (let a = lo; a < hi; a++) {
    const x = earlier.data[a - earlier.address];
    const y = later.data[a - later.address];
    if (x !== y) {
      fail('overlap', later.line, `byte at ${hex(a)} is ${hex(y, 2)} here but ${hex(x, 2)} on line ${earlier.line}`, later.column + 2 * (a - later.address));
    }
  }
}

export interface IhexWriteOptions {
  /** Data bytes per record, 1-255; 16 like avr-objcopy. */
  recordSize?: number;
  /** 'linear' writes 04 records above 64 KiB; 'segment' writes 02 records as avr-objcopy does. */
  addressing?: 'linear' | 'segment';
  eol?: '\n' | '\r\n';
}

/** Writes segments as Intel HEX. Records never cross a 64 KiB boundary. */
export function writeIhex(image: Segment[] | IhexImage, options: IhexWriteOptions = {}): string {
  const { recordSize = 16, addressing = 'linear', eol = '\n' } = options;
  if (!Number.isInteger(recordSize) || recordSize < 1 || recordSize > 255) throw new RangeError(`recordSize must be 1..255, not ${recordSize}`);
  const img: IhexImage = Array.isArray(image) ? { segments: image } : image;
  const out: string[] = [];
  let upper = 0;
  for (const seg of normalizeSegments(img.segments)) {
    for (let pos = 0; pos < seg.data.length; ) {
      const addr = seg.address + pos;
      const hi = Math.floor(addr / 0x10000);
      if (hi !== upper) {
        out.push(extendedRecord(hi, addressing));
        upper = hi;
      }
      const n = Math.min(recordSize, seg.data.length - pos, 0x10000 - (addr % 0x10000));
      out.push(record(0, addr % 0x10000, seg.data.subarray(pos, pos + n)));
      pos += n;
    }
  }
  if (img.startSegment) out.push(record(3, 0, u16(img.startSegment.cs, img.startSegment.ip)));
  if (img.startLinear !== undefined) out.push(record(5, 0, u16(img.startLinear >>> 16, img.startLinear & 0xffff)));
  out.push(record(1, 0, new Uint8Array(0)));
  return out.join(eol) + eol;
}

function extendedRecord(upper: number, addressing: 'linear' | 'segment'): string {
  if (upper > 0xffff) throw new RangeError(`address ${hex(upper * 0x10000, 8)} is beyond Intel HEX's 4 GiB`);
  if (addressing === 'linear') return record(4, 0, u16(upper));
  if (upper > 0xf) throw new RangeError(`02 records reach 1 MiB; use linear addressing for ${hex(upper * 0x10000, 8)}`);
  return record(2, 0, u16(upper << 12));
}

function u16(...words: number[]): Uint8Array {
  return Uint8Array.from(words.flatMap((w) => [(w >> 8) & 0xff, w & 0xff]));
}

function record(type: number, offset: number, data: Uint8Array): string {
  const bytes = [data.length, offset >> 8, offset & 0xff, type, ...data];
  const sum = bytes.reduce((a, b) => a + b, 0);
  bytes.push(-sum & 0xff);
  return ':' + bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}
