import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAvr } from '../../../test/fixtures/avr/build.ts';
import { parseElf } from '../formats/elf.ts';
import { checkEepromFits, checkFits, checkSignature, findTarget, lookupTarget, parseSignature, TargetError } from './index.ts';

function targetError(f: () => unknown): TargetError {
  try {
    f();
  } catch (err) {
    if (err instanceof TargetError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('findTarget', () => {
  it('lists the ATmega328P first among the built-in parts and finds it every way', () => {
    for (const q of ['m328p', 'ATmega328P', 'atmega328p', '1E 95 0F', '0x1e 0x95 0x0f', '1e950f']) {
      expect(findTarget(q, { avrdudeConf: false }).id).toBe('m328p');
    }
    expect(findTarget([0x1e, 0x95, 0x0f]).name).toBe('ATmega328P');
  });

  it('tells the 328 from the 328P and the 168 from the 168P by signature', () => {
    expect(findTarget('1E 95 14').name).toBe('ATmega328');
    expect(findTarget('1E 94 06').name).toBe('ATmega168');
    expect(findTarget('1E 94 0B').name).toBe('ATmega168P');
  });

  it('finds parts that only avrdude.conf knows, by id, name or signature', () => {
    expect(findTarget('t85')).toMatchObject({ name: 'ATtiny85', source: 'avrdude.conf' });
    expect(findTarget('attiny85').id).toBe('t85');
    expect(findTarget('1E 93 0B').id).toBe('t85');
    expect(lookupTarget('t85', { avrdudeConf: false })).toBeUndefined();
  });

  it('names where it looked when a part is unknown', () => {
    const err = targetError(() => findTarget('m329z'));
    expect(err.code).toBe('unknown-target');
    expect(err.message).toBe("unknown part 'm329z': not among the built-in parts (m328p, m328, m168, m168p, m1284p, m2560) or in avrdude.conf");
    expect(targetError(() => findTarget([0x1e, 0xff, 0xff])).message).toMatch(/^unknown part signature 1E FF FF/);
  });

  it('parses signatures in the usual spellings', () => {
    expect(parseSignature('1E:98:01')).toEqual([0x1e, 0x98, 0x01]);
    expect(parseSignature('m328p')).toBeUndefined();
    expect(parseSignature('1E 95')).toBeUndefined();
  });
});

describe('checkFits', () => {
  const m328p = findTarget('m328p');
  const image = (end: number, start = 0) => [{ address: start, data: new Uint8Array(end - start) }];

  it('refuses an image that runs into the bootloader, with the figures', () => {
    const err = targetError(() => checkFits(m328p, image(0x7e12), 1024));
    expect(err.code).toBe('image-too-big');
    expect(err.message).toBe('image ends at 0x7E12, but the ATmega328P bootloader starts at 0x7C00 (1024-byte boot section): 530 bytes too big');
    expect(err.details).toMatchObject({ imageEnd: 0x7e12, bootStart: 0x7c00, over: 530 });
  });

  it('refuses an image larger than flash when there is no bootloader', () => {
    expect(targetError(() => checkFits(m328p, image(0x8010), 0)).message).toBe(
      'image ends at 0x8010, but the ATmega328P has 32768 bytes of flash (ends at 0x8000): 16 bytes too big',
    );
  });

  it('accepts an image that ends exactly where the bootloader starts', () => {
    const report = checkFits(m328p, image(0x7e00), 512);
    expect(report).toMatchObject({ imageStart: 0, imageEnd: 0x7e00, bootStart: 0x7e00, free: 0, pages: 252 });
  });

  it('counts pages an image touches, gaps and all', () => {
    const segs = [
      { address: 0x7f, data: new Uint8Array(2) }, // straddles pages 0 and 1
      { address: 0x1000, data: new Uint8Array(1) },
    ];
    expect(checkFits(m328p, segs, 2048)).toMatchObject({ pages: 3, imageBytes: 3, free: 0x7800 - 0x1001 });
  });

  it('refuses a bootloader the fuses cannot select', () => {
    const err = targetError(() => checkFits(m328p, image(0x100), 496));
    expect(err.code).toBe('bad-boot-size');
    expect(err.message).toBe('a 496-byte bootloader does not suit the ATmega328P: use 0 (none) or one of its boot section sizes: 512, 1024, 2048, 4096 bytes');
    // A part without a boot section takes any whole number of pages (a software bootloader).
    expect(checkFits(findTarget('t85'), image(0x100), 1024).bootStart).toBe(7168);
  });

  it('checks a real ELF linked at 0x7C00 against a 1 KiB and a 2 KiB boot section', () => {
    const img = parseElf(readFileSync(buildAvr('boot328p').elf));
    expect(() => checkFits(m328p, img.segments, 512)).not.toThrow();
    expect(targetError(() => checkFits(m328p, img.segments, 1024)).message).toMatch(/^image ends at 0x7C[0-9A-F]{2}, but the ATmega328P bootloader starts at 0x7C00/);
  });

  it('checks EEPROM contents against the EEPROM size', () => {
    expect(() => checkEepromFits(m328p, image(1024))).not.toThrow();
    expect(targetError(() => checkEepromFits(m328p, image(1030))).message).toBe(
      'EEPROM data ends at 0x0406, but the ATmega328P has 1024 bytes of EEPROM: 6 bytes too big',
    );
  });
});

describe('checkSignature', () => {
  const m328p = findTarget('m328p');

  it('accepts an ELF built for the target', () => {
    const img = parseElf(readFileSync(buildAvr('sketch328p').elf));
    expect(checkSignature(m328p, img.signature)).toEqual({ checked: true, builtFor: 'ATmega328P' });
  });

  it('refuses an ELF built for another chip and names it', () => {
    const img = parseElf(readFileSync(buildAvr('high2560').elf));
    const err = targetError(() => checkSignature(m328p, img.signature));
    expect(err.code).toBe('wrong-target');
    expect(err.message).toBe('firmware was built for ATmega2560 (signature 1E 98 01), not for the ATmega328P (1E 95 0F)');
  });

  it('names an unknown chip by its signature', () => {
    expect(targetError(() => checkSignature(m328p, [0x1e, 0xee, 0xee])).message).toBe(
      'firmware was built for a chip with signature 1E EE EE, not for the ATmega328P (1E 95 0F)',
    );
  });

  it('cannot check a file without a signature', () => {
    expect(checkSignature(m328p, undefined)).toEqual({ checked: false });
  });
});
