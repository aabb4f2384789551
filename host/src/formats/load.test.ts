import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAvr } from '../../../test/fixtures/avr/build.ts';
import { FormatError, HexError } from './errors.ts';
import { detectFormat, loadFirmware, readFirmware, type FirmwareFormat } from './load.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'hex');

describe('loadFirmware', () => {
  const build = buildAvr('sketch328p');

  it('reads an ELF file with every memory it describes', async () => {
    const fw = await loadFirmware(build.elf);
    expect(fw.kind).toBe('elf');
    expect(fw.name).toBe(build.elf);
    expect(Array.from(fw.signature!)).toEqual([0x1e, 0x95, 0x0f]);
    expect(fw.eeprom).toBeDefined();
    expect(Array.from(fw.fuses!)).toEqual([0xff, 0xda, 0xfd]);
  });

  it('reads the Intel HEX and raw binary of the same program to the same flash bytes', async () => {
    const elf = await loadFirmware(build.elf);
    const hex = await loadFirmware(build.hex);
    const bin = await loadFirmware(build.bin);
    expect(hex.kind).toBe('ihex');
    expect(bin.kind).toBe('bin');
    expect(hex.segments).toEqual(elf.segments);
    expect(bin.segments).toEqual(elf.segments);
    expect(hex.signature).toBeUndefined();
  });

  it('recognises content whatever the name says', () => {
    const elfBytes = readFileSync(build.elf);
    const hexBytes = readFileSync(build.hex);
    expect(readFirmware(elfBytes, 'firmware.bin').kind).toBe('elf');
    expect(readFirmware(hexBytes, 'firmware.txt').kind).toBe('ihex');
    expect(readFirmware(hexBytes, 'no-extension').kind).toBe('ihex');
  });

  it('gives Intel HEX errors for a broken .hex file instead of loading it as bytes', async () => {
    await expect(loadFirmware(join(fixtures, 'missing-start-code.hex'))).rejects.toBeInstanceOf(HexError);
    const text = new TextEncoder().encode('this is not firmware\n');
    expect(() => readFirmware(text, 'notes.hex')).toThrow(/notes.hex line 1: the line does not start with ':'/);
  });

  it('refuses a file it cannot identify, and says how to load a raw binary', () => {
    const text = new TextEncoder().encode('this is not firmware\n');
    const err = (() => {
      try {
        readFirmware(text, 'notes.txt');
      } catch (e) {
        return e as FormatError;
      }
    })();
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.code).toBe('unknown-format');
    expect(err!.message).toMatch(/^notes.txt: cannot tell what kind of firmware this is: .*a raw binary needs a .bin name/);
  });

  it('reads any bytes as raw binary when told to', () => {
    const text = new TextEncoder().encode(':not hex at all');
    const fw = readFirmware(text, 'odd.hex', { kind: 'bin' });
    expect(fw.segments).toEqual([{ address: 0, data: text }]);
  });

  it('reports a missing file with its name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageboot-load-'));
    await expect(loadFirmware(join(dir, 'nope.hex'))).rejects.toThrow(/nope.hex: cannot read: no such file/);
    await expect(loadFirmware(dir)).rejects.toThrow(/is a directory/);
  });

  it('lets another format (the stageboot image reader) claim files by magic before the built-ins', async () => {
    // A format whose files start with "SBX1"; it stands in for the protocol's image reader.
    const sbx: FirmwareFormat = {
      kind: 'sbx',
      description: 'test container',
      extensions: ['.sbx'],
      detect: (b) => Buffer.from(b.subarray(0, 4)).toString('latin1') === 'SBX1',
      read: (b, name) => ({ kind: 'sbx', name, segments: [{ address: 0x100, data: b.slice(4) }] }),
    };
    const dir = mkdtempSync(join(tmpdir(), 'stageboot-load-'));
    const file = join(dir, 'update.hex'); // the extension says HEX, the content says otherwise
    writeFileSync(file, Buffer.concat([Buffer.from('SBX1'), Buffer.from([1, 2, 3])]));
    const fw = await loadFirmware(file, { formats: [sbx] });
    expect(fw.kind).toBe('sbx');
    expect(fw.segments).toEqual([{ address: 0x100, data: Uint8Array.from([1, 2, 3]) }]);
    expect(detectFormat(readFileSync(build.hex), 'x.hex', { formats: [sbx] }).kind).toBe('ihex');
  });
});
