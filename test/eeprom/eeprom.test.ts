import { describe, expect, it } from 'vitest';
import { ActivateMode, BootState, SlotState } from '../../protocol/generated/protocol.ts';
import { chips } from '../../protocol/ts/chips.ts';
import { decodeRecord, decodeSuperblock, pickRecord, recordAddrs } from '../../protocol/ts/fs.ts';
import { makeHeader, type Image } from '../../protocol/ts/image.ts';
import { crc32 } from '../../protocol/ts/crc.ts';
import { buildEeprom } from '../../host/src/eeprom/build.ts';
import { writeEeprom } from '../../host/src/eeprom/i2c-writer.ts';
import { I2cBus } from '../../host/src/sim/i2c-bus.ts';
import { Eeprom24 } from '../../host/src/sim/parts/eeprom24.ts';
import { SimI2cTransport } from './sim-i2c.ts';

const M328P = Uint8Array.of(0x1e, 0x95, 0x0f);
function image(len: number, seed: number): Image {
  const payload = Uint8Array.from({ length: len }, (_, i) => (i * seed + (i >> 8)) & 0xff);
  return { header: makeHeader(payload, { signature: M328P, appVersion: seed }), payload };
}

function readRecord(mem: Uint8Array, pitch: number, which: 'boot' | number) {
  const [a, b] = recordAddrs(pitch, which);
  const name = which === 'boot' ? 'BootRecord' : 'SlotRecord';
  return pickRecord(decodeRecord(name, mem.subarray(a, a + 64)), decodeRecord(name, mem.subarray(b, b + 64))).record;
}

describe('eeprom build', () => {
  it('places a 31 KiB image in the single slot of a 24LC256 and marks it pending', () => {
    const img = image(31 * 1024, 3);
    const built = buildEeprom({ chip: chips['24LC256'], images: new Map([[0, img]]), activate: { slot: 0, mode: ActivateMode.NOW } });
    const sb = decodeSuperblock(built.bytes)!;
    expect(sb.slotCount).toBe(1);
    const slot = readRecord(built.bytes, sb.recPitch, 0) as { state: number; dataAddr: number; header: { payloadCrc: number } };
    expect(slot.state).toBe(SlotState.STAGED);
    expect(crc32(built.bytes.subarray(slot.dataAddr, slot.dataAddr + img.payload.length))).toBe(slot.header.payloadCrc);
    expect((readRecord(built.bytes, sb.recPitch, 'boot') as { state: number }).state).toBe(BootState.PENDING);
  });

  it('refuses an image larger than its slot, a missing slot and a trial it cannot back up', () => {
    expect(() => buildEeprom({ chip: chips['24LC512'], images: new Map([[0, image(33 * 1024, 1)]]) })).toThrow(/slot of this 24LC512 layout holds 32256/);
    expect(() => buildEeprom({ chip: chips['24LC256'], images: new Map([[1, image(100, 1)]]) })).toThrow(/slot 1 does not exist/);
    expect(() => buildEeprom({ chip: chips['24LC512'], images: new Map([[0, image(100, 1)]]), activate: { slot: 0, mode: ActivateMode.TRIAL } })).toThrow(/backup/);
  });
});

describe('eeprom write over a simulated I2C bus', () => {
  for (const name of ['24LC256', '24LC1025'] as const) {
    it(`writes and verifies a whole ${name} with ACK polling`, async () => {
      const chip = chips[name];
      const part = new Eeprom24({ model: name });
      const bus = new I2cBus();
      bus.attach(part);
      const sim = new SimI2cTransport(bus);
      const built = buildEeprom({ chip, images: new Map([[0, image(20_000, 7)], [name === '24LC1025' ? 3 : 0, image(9_000, 5)]]) });
      const progress: number[] = [];
      const report = await writeEeprom(sim, built.bytes, { chip, address: 0x50, clock: sim, metadataEnd: built.superblock.dataStart, onProgress: (d) => progress.push(d) });
      expect(Buffer.compare(Buffer.from(part.memory), Buffer.from(built.bytes))).toBe(0);
      expect(report.pagesWritten).toBe(part.writeCycles);
      expect(part.busyNacks).toBeGreaterThan(0); // it did have to poll
      expect(report.bytesVerified).toBe(chip.size);
      expect(progress.at(-1)).toBe((chip.size / chip.pageSize) * 2);

      // A second write of the same image finds every page already right.
      const again = await writeEeprom(sim, built.bytes, { chip, address: 0x50, clock: sim });
      expect(again.pagesWritten).toBe(0);
    });
  }

  it('reports the address when the chip does not answer', async () => {
    const bus = new I2cBus(); // nothing attached
    const sim = new SimI2cTransport(bus);
    const chip = chips['24LC256'];
    await expect(writeEeprom(sim, new Uint8Array(chip.size).fill(0xff), { chip, address: 0x50, clock: sim })).rejects.toThrow(/no ACK from the EEPROM at I2C address 0x50/);
  });

  it('reports a verify failure with its address', async () => {
    const chip = chips['24LC256'];
    const part = new Eeprom24({ model: '24LC256' });
    const bus = new I2cBus();
    bus.attach(part);
    const sim = new SimI2cTransport(bus);
    // A stuck bit: the part forgets bit 0 of byte 0x1234 after every write cycle.
    const write = part.stop.bind(part);
    part.stop = (t: number) => { write(t); part.memory[0x1234] &= 0xfe; };
    const img = new Uint8Array(chip.size).fill(0xff);
    await expect(writeEeprom(sim, img, { chip, address: 0x50, clock: sim })).rejects.toThrow(/verify failed at EEPROM address 0x1234/);
  });
});
