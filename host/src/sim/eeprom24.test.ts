import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { I2cBus } from './i2c-bus.ts';
import { Eeprom24 } from './parts/eeprom24.ts';
import { seededRng } from '../util/rng.ts';

/** Drive the bus the way a master would, at time t (seconds). */
function master(bus: I2cBus) {
  let t = 0;
  return {
    at(s: number) {
      t = s;
    },
    write(addr7: number, mem: number, data: number[]): boolean {
      bus.start(t);
      if (!bus.address(addr7, false, t)) {
        bus.stop(t);
        return false;
      }
      bus.write(mem >> 8, t);
      bus.write(mem & 0xff, t);
      for (const b of data) bus.write(b, t);
      bus.stop(t);
      return true;
    },
    read(addr7: number, mem: number, n: number): number[] | null {
      bus.start(t);
      if (!bus.address(addr7, false, t)) return null;
      bus.write(mem >> 8, t);
      bus.write(mem & 0xff, t);
      bus.start(t);
      bus.address(addr7, true, t);
      const out = Array.from({ length: n }, (_, i) => bus.read(i < n - 1, t));
      bus.stop(t);
      return out;
    },
  };
}

describe('Eeprom24', () => {
  it('has the presets of the 24LC256/512/1025', () => {
    expect(new Eeprom24({ model: '24LC256' })).toMatchObject({ size: 32768, pageSize: 64 });
    expect(new Eeprom24({ model: '24LC512' })).toMatchObject({ size: 65536, pageSize: 128 });
    expect(new Eeprom24({ model: '24LC1025' })).toMatchObject({ size: 131072, pageSize: 128, blocks: 2 });
  });

  it('NACKs during tWC and answers again after it', () => {
    const bus = new I2cBus();
    const e = new Eeprom24({ writeCycleSeconds: 5e-3 });
    bus.attach(e);
    const m = master(bus);
    expect(m.write(0x50, 0x10, [1, 2, 3])).toBe(true);
    m.at(4.9e-3);
    expect(m.read(0x50, 0x10, 3)).toBeNull();
    m.at(5.0e-3);
    expect(m.read(0x50, 0x10, 3)).toEqual([1, 2, 3]);
    expect(e.busyNacks).toBe(1);
    expect(e.writeCycles).toBe(1);
  });

  it('a START before STOP abandons the page buffer (no write cycle)', () => {
    const bus = new I2cBus();
    const e = new Eeprom24();
    bus.attach(e);
    bus.start(0);
    bus.address(0x50, false, 0);
    for (const b of [0, 0x20, 0xaa]) bus.write(b, 0);
    bus.start(0); // repeated START instead of STOP
    bus.stop(0);
    expect(e.memory[0x20]).toBe(0xff);
    expect(e.writeCycles).toBe(0);
  });

  it('wraps a page write inside its page (24LC512: 128 bytes)', () => {
    const bus = new I2cBus();
    const e = new Eeprom24({ model: '24LC512' });
    bus.attach(e);
    master(bus).write(0x50, 0x17e, [1, 2, 3, 4]);
    expect([...e.memory.subarray(0x17e, 0x180)]).toEqual([1, 2]);
    expect([...e.memory.subarray(0x100, 0x102)]).toEqual([3, 4]);
    expect(e.memory[0x180]).toBe(0xff);
  });

  it('wraps a sequential read at the end of memory; ignores address bits above the size', () => {
    const bus = new I2cBus();
    const e = new Eeprom24({ model: '24LC256' });
    e.memory[0x7fff] = 0x11;
    e.memory[0] = 0x22;
    bus.attach(e);
    expect(master(bus).read(0x50, 0xffff, 2)).toEqual([0x11, 0x22]); // 0xFFFF -> 0x7FFF
  });

  it('24LC1025: block select is bit 2 of the device address; reads wrap inside a block', () => {
    const bus = new I2cBus();
    const e = new Eeprom24({ model: '24LC1025' });
    bus.attach(e);
    const m = master(bus);
    m.write(0x54, 0x0000, [0xb1]);
    m.at(0.01);
    m.write(0x50, 0x0000, [0xb0]);
    m.at(0.02);
    expect(e.memory[0x10000]).toBe(0xb1);
    expect(e.memory[0]).toBe(0xb0);
    e.memory[0xffff] = 0xaf;
    expect(m.read(0x50, 0xffff, 2)).toEqual([0xaf, 0xb0]);
    expect(m.read(0x51, 0, 1)).toBeNull(); // other A0: not this chip
  });

  it('a power cut during tWC lands a seeded subset of the page (torn write)', () => {
    const bus = new I2cBus();
    const e = new Eeprom24({ model: '24LC256' });
    bus.attach(e);
    master(bus).write(0x50, 0x40, Array.from({ length: 64 }, (_, i) => i));
    const landed = e.cutPowerDuringWrite(seededRng(42));
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(64);
    const page = e.memory.subarray(0x40, 0x80);
    expect(page.filter((b, i) => b === i).length).toBe(landed);
    expect(page.every((b, i) => b === i || b === 0xff)).toBe(true);
    // Same seed, same tear.
    const e2 = new Eeprom24();
    const bus2 = new I2cBus();
    bus2.attach(e2);
    master(bus2).write(0x50, 0x40, Array.from({ length: 64 }, (_, i) => i));
    e2.cutPowerDuringWrite(seededRng(42));
    expect([...e2.memory.subarray(0x40, 0x80)]).toEqual([...page]);
  });

  it('a power cut after tWC changes nothing', () => {
    const bus = new I2cBus();
    const e = new Eeprom24();
    bus.attach(e);
    master(bus).write(0x50, 0, [9, 9]);
    bus.powerCut(0.006, seededRng(1));
    expect([...e.memory.subarray(0, 2)]).toEqual([9, 9]);
    expect(e.tornWrites).toBe(0);
  });

  it('persists to a backing file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'eeprom24-')), 'chip.bin');
    const bus = new I2cBus();
    const e = new Eeprom24({ file });
    bus.attach(e);
    master(bus).write(0x50, 0x123, [0x42]);
    const again = new Eeprom24({ file });
    expect(again.memory[0x123]).toBe(0x42);
  });
});
