import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAvr, objcopyHexToBin } from '../../../test/fixtures/avr/build.ts';
import { HexError, type HexFault } from './errors.ts';
import { parseIhex, writeIhex } from './ihex.ts';
import { extent, flatten, type Segment } from './memory.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'hex');
const read = (file: string) => parseIhex(readFileSync(join(fixtures, file)), file);

function errorOf(file: string): HexError {
  try {
    read(file);
  } catch (err) {
    if (err instanceof HexError) return err;
    throw err;
  }
  throw new Error(`${file} was accepted`);
}

describe('Intel HEX reader: malformed files', () => {
  const table: { file: string; fault: HexFault; line: number; column?: number; says: RegExp }[] = [
    { file: 'bad-checksum.hex', fault: 'checksum', line: 3, column: 42, says: /checksum is 0x4B, expected 0x58/ },
    { file: 'byte-count-mismatch.hex', fault: 'byte-count', line: 2, column: 2, says: /byte count is 16 \(0x10\), but the record holds 15 data bytes/ },
    { file: 'record-too-short.hex', fault: 'byte-count', line: 4, says: /shorter than the 5 every record needs/ },
    { file: 'non-hex-character.hex', fault: 'non-hex', line: 2, column: 14, says: /"G" at column 14 is not a hex digit/ },
    { file: 'missing-start-code.hex', fault: 'missing-start-code', line: 4, column: 1, says: /does not start with ':'/ },
    { file: 'odd-length.hex', fault: 'odd-length', line: 2, says: /41 hex digits, an odd number/ },
    { file: 'unknown-record-type.hex', fault: 'unknown-record-type', line: 3, column: 8, says: /unknown record type 0x06/ },
    { file: 'extended-address-wrong-length.hex', fault: 'record-length', line: 3, says: /extended linear address record \(04\) holds 2 data bytes, this one holds 3/ },
    { file: 'eof-with-data.hex', fault: 'record-length', line: 5, says: /end-of-file record \(01\) holds 0 data bytes, this one holds 1/ },
    { file: 'data-after-eof.hex', fault: 'data-after-eof', line: 5, says: /after the end-of-file record on line 4/ },
    { file: 'missing-eof.hex', fault: 'missing-eof', line: 5, says: /without an end-of-file record/ },
    { file: 'empty.hex', fault: 'missing-eof', line: 1, says: /without an end-of-file record/ },
    { file: 'overlap-different-data.hex', fault: 'overlap', line: 4, column: 20, says: /byte at 0x0005 is 0x95 here but 0x94 on line 1/ },
  ];

  it.each(table)('$file: $fault on line $line', ({ file, fault, line, column, says }) => {
    const err = errorOf(file);
    expect(err.fault).toBe(fault);
    expect(err.code).toBe(`hex-${fault}`);
    expect(err.line).toBe(line);
    if (column !== undefined) expect(err.column).toBe(column);
    expect(err.message).toMatch(new RegExp(`^${file} line ${line}: `));
    expect(err.message).toMatch(says);
  });

  it('has one fixture file per fault code', () => {
    const faults = new Set(table.map((t) => t.fault));
    const all: HexFault[] = ['missing-start-code', 'non-hex', 'odd-length', 'byte-count', 'record-length', 'checksum', 'unknown-record-type', 'data-after-eof', 'missing-eof', 'overlap'];
    expect([...faults].sort()).toEqual([...all].sort());
  });
});

describe('Intel HEX reader: valid files', () => {
  const expected = read('valid.hex');

  it('reads the reference file into one merged segment', () => {
    expect(expected.segments).toHaveLength(1);
    expect(expected.segments[0].address).toBe(0);
    expect(expected.segments[0].data.length).toBe(0x34);
    expect(Array.from(expected.segments[0].data.subarray(0x20, 0x24))).toEqual([0, 1, 2, 3]);
  });

  it.each(['valid-crlf.hex', 'valid-lowercase.hex', 'overlap-same-data.hex'])('%s reads the same bytes as valid.hex', (file) => {
    expect(read(file).segments).toEqual(expected.segments);
  });

  it('skips blank lines and tolerates a byte order mark', () => {
    const text = '\uFEFF' + readFileSync(join(fixtures, 'valid.hex'), 'latin1').replace(/\n/g, '\n\n');
    expect(parseIhex(text).segments).toEqual(expected.segments);
  });

  it('keeps segments apart across a gap and reports start addresses', () => {
    const img = parseIhex(
      writeRecord(0, 0, [0x12, 0x34]) + writeRecord(0, 0x100, [0xab, 0xcd]) + writeRecord(5, 0, [0, 0, 0x12, 0x34]) + writeRecord(3, 0, [0x12, 0x34, 0x56, 0x78]) + ':00000001FF\n',
    );
    expect(img.segments.map((s) => [s.address, Array.from(s.data)])).toEqual([
      [0, [0x12, 0x34]],
      [0x100, [0xab, 0xcd]],
    ]);
    expect(img.startLinear).toBe(0x1234);
    expect(img.startSegment).toEqual({ cs: 0x1234, ip: 0x5678 });
  });

  it('wraps a record inside its segment after an 02 record, as the Intel spec says', () => {
    // Segment 0x1000 (base 0x10000), offset 0xFFFE, 4 bytes: the last two land at 0x10000.
    const img = parseIhex(writeRecord(2, 0, [0x10, 0x00]) + writeRecord(0, 0xfffe, [1, 2, 3, 4]) + ':00000001FF\n');
    expect(img.segments.map((s) => [s.address, Array.from(s.data)])).toEqual([
      [0x10000, [3, 4]],
      [0x1fffe, [1, 2]],
    ]);
  });

  it('continues past 64 KiB after an 04 record', () => {
    const img = parseIhex(writeRecord(4, 0, [0x00, 0x01]) + writeRecord(0, 0xfffe, [1, 2, 3, 4]) + ':00000001FF\n');
    expect(img.segments.map((s) => [s.address, Array.from(s.data)])).toEqual([[0x1fffe, [1, 2, 3, 4]]]);
  });
});

/** A record built independently of the writer under test (checksum computed here). */
function writeRecord(type: number, offset: number, data: number[]): string {
  const bytes = [data.length, offset >> 8, offset & 0xff, type, ...data];
  const sum = bytes.reduce((a, b) => a + b, 0);
  return ':' + [...bytes, -sum & 0xff].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase() + '\n';
}

/** Deterministic pseudo-random bytes (xorshift) so failures reproduce. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('Intel HEX writer', () => {
  const sparse: Segment[] = [
    { address: 0, data: bytes(300, 1) },
    { address: 0x7e00, data: bytes(17, 2) },
    { address: 0xfff5, data: bytes(40, 3) }, // crosses 64 KiB
    { address: 0x3fff0, data: bytes(16, 4) }, // top of an ATmega2560's flash
  ];

  it.each([1, 16, 32, 255])('round-trips a sparse image with %i-byte records', (recordSize) => {
    const text = writeIhex(sparse, { recordSize });
    expect(parseIhex(text).segments).toEqual(sparse);
    const longest = Math.max(...text.split('\n').filter((l) => l.slice(7, 9) === '00').map((l) => parseInt(l.slice(1, 3), 16)));
    expect(longest).toBe(recordSize);
  });

  it('round-trips with 02 segment records and CRLF line ends', () => {
    const text = writeIhex(sparse, { addressing: 'segment', eol: '\r\n' });
    expect(text).toContain(':020000021000EC\r\n');
    expect(text).not.toMatch(/^:02000004/m);
    expect(parseIhex(text).segments).toEqual(sparse);
  });

  it('writes no extended address records below 64 KiB and ends with an EOF record', () => {
    const text = writeIhex([{ address: 0x100, data: bytes(64, 5) }]);
    expect(text.split('\n').filter((l) => l.slice(7, 9) !== '00' && l)).toEqual([':00000001FF']);
  });

  it('never lets a record cross a 64 KiB boundary', () => {
    const text = writeIhex(sparse);
    let upper = 0;
    for (const line of text.trim().split('\n')) {
      const count = parseInt(line.slice(1, 3), 16);
      const offset = parseInt(line.slice(3, 7), 16);
      if (line.slice(7, 9) === '04') upper = parseInt(line.slice(9, 13), 16);
      if (line.slice(7, 9) === '00') expect(offset + count, `${line} under 04 ${upper}`).toBeLessThanOrEqual(0x10000);
    }
  });

  it('keeps start address records', () => {
    const img = { segments: sparse, startLinear: 0x12345678, startSegment: { cs: 0xabcd, ip: 0x0100 } };
    const back = parseIhex(writeIhex(img));
    expect(back.startLinear).toBe(0x12345678);
    expect(back.startSegment).toEqual({ cs: 0xabcd, ip: 0x0100 });
  });

  it('writes what avr-objcopy reads back byte for byte, above 64 KiB too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageboot-ihex-'));
    const file = join(dir, 'ours.hex');
    writeFileSync(file, writeIhex(sparse));
    const theirs = objcopyHexToBin(file);
    const ext = extent(sparse)!;
    expect(Buffer.from(theirs).equals(Buffer.from(flatten(sparse, ext.start, ext.end)))).toBe(true);
  });
});

describe('a real ATmega2560 image above 64 KiB', () => {
  const build = buildAvr('high2560');
  const hexText = readFileSync(build.hex, 'latin1');

  it('is written by avr-objcopy with 02 extended segment records', () => {
    expect(hexText).toMatch(/^:020000021000EC$/m);
    expect(hexText).toMatch(/^:020000022000DC$/m);
  });

  it('reads to the same bytes avr-objcopy produces, including the table across 0x20000', () => {
    const img = parseIhex(hexText, 'high2560.hex');
    const ext = extent(img.segments)!;
    expect(ext.end).toBeGreaterThan(0x20000);
    const table = img.segments.find((s) => s.address === 0x1fff0);
    expect(Buffer.from(table!.data).toString('latin1')).toBe('stageboot keeps this text above 64 KiB on an ATmega2560\0');
    expect(Buffer.from(flatten(img.segments, ext.start, ext.end)).equals(readFileSync(build.bin))).toBe(true);
  });

  it('survives our writer (04 records) and avr-objcopy reading it back', () => {
    const img = parseIhex(hexText, 'high2560.hex');
    const dir = mkdtempSync(join(tmpdir(), 'stageboot-ihex-'));
    const file = join(dir, 'rewritten.hex');
    writeFileSync(file, writeIhex(img));
    expect(readFileSync(file, 'latin1')).toMatch(/^:020000040001F9$/m);
    expect(Buffer.from(objcopyHexToBin(file)).equals(readFileSync(build.bin))).toBe(true);
    // And the toolchain's own ihex → ihex conversion agrees with our reading of the file.
    execFileSync('avr-objcopy', ['-I', 'ihex', '-O', 'ihex', build.hex, join(dir, 'objcopy.hex')]);
    expect(parseIhex(readFileSync(join(dir, 'objcopy.hex'))).segments).toEqual(img.segments);
  });
});
