import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAvr, objcopyFlash, objcopySection } from '../../../test/fixtures/avr/build.ts';
import { buildTestFirmware } from '../../../test/firmware/build.ts';
import { parseElf } from './elf.ts';
import { ElfError } from './errors.ts';
import { parseIhex } from './ihex.ts';
import { extent, flatten } from './memory.ts';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('ELF reader against avr-objcopy', () => {
  it.each(['sketch328p', 'high2560', 'boot328p'] as const)('%s: flash bytes equal avr-objcopy -O binary', (name) => {
    const build = buildAvr(name);
    const img = parseElf(readFileSync(build.elf), `${name}.elf`);
    const ext = extent(img.segments)!;
    expect(same(flatten(img.segments, ext.start, ext.end), readFileSync(build.bin))).toBe(true);
    // The Intel HEX avr-objcopy writes from the same ELF holds the same segments.
    expect(parseIhex(readFileSync(build.hex)).segments).toEqual(img.segments);
  });

  it('places .data at its load address after .text, not at its SRAM address', () => {
    const img = parseElf(readFileSync(buildAvr('sketch328p').elf));
    expect(img.segments).toHaveLength(1);
    const flash = Buffer.from(img.segments[0].data);
    // The initial value of `greeting` is stored in flash for the startup code to copy.
    expect(flash.indexOf('stageboot\0')).toBeGreaterThan(0);
    expect(extent(img.segments)!.end).toBeLessThan(0x1000);
  });

  it('reads EEPROM, fuses, lock bits and signature of a 328P sketch', () => {
    const build = buildAvr('sketch328p');
    const img = parseElf(readFileSync(build.elf));
    expect(img.eeprom).toHaveLength(1);
    expect(img.eeprom![0].address).toBe(0);
    expect(same(img.eeprom![0].data, objcopySection(build.elf, '.eeprom'))).toBe(true);
    expect(Array.from(img.eeprom![0].data)).toEqual(expect.arrayContaining([0xef, 0xbe, 1, 2, 3, 4, 5, 6, 7, 8]));
    expect(Array.from(img.fuses!)).toEqual([0xff, 0xda, 0xfd]);
    expect(Array.from(img.lock!)).toEqual([0x2f]);
    expect(Array.from(img.signature!)).toEqual([0x1e, 0x95, 0x0f]);
  });

  it('reads the ATmega2560 signature and the bytes above 64 KiB', () => {
    const img = parseElf(readFileSync(buildAvr('high2560').elf));
    expect(Array.from(img.signature!)).toEqual([0x1e, 0x98, 0x01]);
    expect(img.segments.map((s) => s.address)).toContain(0x1fff0);
    expect(img.eeprom).toBeUndefined();
    expect(img.fuses).toBeUndefined();
  });

  it('gives the same result from program headers alone when section headers are stripped', () => {
    const elf = new Uint8Array(readFileSync(buildAvr('sketch328p').elf));
    const full = parseElf(elf);
    const stripped = elf.slice();
    const view = new DataView(stripped.buffer);
    view.setUint32(32, 0, true); // e_shoff
    view.setUint16(48, 0, true); // e_shnum
    const bare = parseElf(stripped);
    expect(bare.segments).toEqual(full.segments);
    expect(bare.eeprom).toEqual(full.eeprom);
    expect(bare.fuses).toEqual(full.fuses);
    expect(bare.signature).toEqual(full.signature);
  });
});

// Real firmware from the project's Arduino-core build (test/firmware): a ~29 KiB sketch and
// Optiboot linked at 0x7E00 with its version word at 0x7FFE.
describe('ELF reader on test/firmware builds', () => {
  const fw = buildTestFirmware();

  it('the ~29 KiB Arduino sketch: flash equals avr-objcopy and the HEX built beside it', () => {
    const elfPath = fw.big.replace(/\.hex$/, '.elf');
    const img = parseElf(readFileSync(elfPath), elfPath);
    const ext = extent(img.segments)!;
    expect(ext.end).toBeGreaterThan(20_000);
    expect(same(flatten(img.segments, ext.start, ext.end), objcopyFlash(elfPath))).toBe(true);
    expect(parseIhex(readFileSync(fw.big)).segments).toEqual(img.segments);
  });

  it('Optiboot: flash equals avr-objcopy; the unallocated .version word is named as skipped', () => {
    // Optiboot's Makefile forces .version into its HEX with --set-section-flags; plain
    // avr-objcopy (and so this reader) leaves the non-allocated section out.
    const elfPath = fw.optiboot.replace(/\.hex$/, '.elf');
    const img = parseElf(readFileSync(elfPath), elfPath);
    expect(img.segments.map((s) => s.address)).toEqual([0x7e00]);
    // objcopy pads its binary out to the empty .data section's LMA (0x800100, 8 MiB of fill);
    // the reader rightly ignores empty sections, so compare up to the end of the code.
    const theirs = objcopyFlash(elfPath);
    const ours = flatten(img.segments);
    expect(same(ours, theirs.subarray(0, ours.length))).toBe(true);
    expect(theirs.subarray(ours.length).every((b) => b === 0xff)).toBe(true);
    expect(img.skipped).toEqual(['.version']);
    const hex = parseIhex(readFileSync(fw.optiboot));
    expect(hex.segments[0]).toEqual(img.segments[0]);
    expect(hex.segments[1].address).toBe(0x7ffe);
    expect(hex.startSegment).toEqual({ cs: 0, ip: 0x7e00 });
  });
});

describe('ELF reader errors', () => {
  const elf = () => new Uint8Array(readFileSync(buildAvr('boot328p').elf));
  const faultOf = (bytes: Uint8Array) => {
    try {
      parseElf(bytes, 'x.elf');
    } catch (err) {
      if (err instanceof ElfError) return [err.fault, err.message];
      throw err;
    }
    return ['accepted', ''];
  };

  it('refuses a file without the ELF magic', () => {
    expect(faultOf(new TextEncoder().encode(':00000001FF\n'))).toEqual(['not-elf', 'x.elf: not an ELF file (no 0x7F "ELF" magic)']);
  });

  it('refuses an ELF for another machine', () => {
    const bytes = elf();
    bytes[18] = 40; // EM_ARM
    expect(faultOf(bytes)).toEqual(['unsupported', 'x.elf: built for ELF machine 40, not AVR (83)']);
  });

  it('refuses a 64-bit ELF', () => {
    const bytes = elf();
    bytes[4] = 2;
    expect(faultOf(bytes)[0]).toBe('unsupported');
  });

  it('refuses a truncated file', () => {
    const bytes = elf();
    expect(faultOf(bytes.subarray(0, 300))[0]).toBe('truncated');
    expect(faultOf(bytes.subarray(0, 40))[0]).toBe('truncated');
  });
});
