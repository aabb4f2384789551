import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { Eeprom24 } from './parts/eeprom24.ts';
import { buildFirmware } from './firmware-build.ts';

const GPIOR0 = 0x3e;
const DONE = 0xd0;

describe('TWI master with a 24LC256', () => {
  const fw = buildFirmware('twi_eeprom.c');
  const eeprom = new Eeprom24({ model: '24LC256' });
  const node = new SimNode({ fuses: { high: 0xdf }, eeprom });
  node.loadHex(fw.hex);
  node.reset('power');
  const finished = node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 16e6 * 0.1);
  const r = fw.symbol('result');
  const res = node.cpu.data.slice(r, r + 16);

  it('runs to the end', () => expect(finished).toBe(true));

  it('keeps TWSR status bits when firmware writes TWSR (START reads 0x08)', () => {
    expect(res[0]).toBe(0x08);
    expect(res[1]).toBe(0x18);
    expect(res[7]).toBe(0x10);
  });

  it('takes bus time: 8-byte page write = START + 11 bytes x 9 SCL + STOP at 400 kHz', () => {
    const cycles = res[2] | (res[3] << 8);
    const scl = 40; // 16 + 2 * 12 cycles
    expect(cycles).toBeGreaterThanOrEqual(10 * 9 * scl + scl); // 10 bytes after the timer started
    expect(cycles).toBeLessThan(10 * 9 * scl + scl + 600); // plus firmware overhead
  });

  it('does not set TWINT after a STOP', () => expect(res[6]).toBe(0));

  it('NACKs its address during the 5 ms write cycle (ACK polling)', () => {
    const nacks = res[4] | (res[5] << 8);
    // Each poll is START + SLA+W + STOP = 11 SCL periods (27.5 us) plus code: about 5 ms / 30 us.
    expect(nacks).toBeGreaterThan(100);
    expect(nacks).toBeLessThan(200);
    expect(eeprom.busyNacks).toBe(nacks);
  });

  it('wraps a page write inside its 64-byte page', () => {
    expect([...eeprom.memory.subarray(0x13c, 0x140)]).toEqual([0xa0, 0xa1, 0xa2, 0xa3]);
    expect([...eeprom.memory.subarray(0x100, 0x104)]).toEqual([0xa4, 0xa5, 0xa6, 0xa7]);
    expect(eeprom.memory[0x140]).toBe(0xff);
    expect(eeprom.writeCycles).toBe(1);
  });

  it('random read (dummy write, repeated START) returns the stored bytes', () => {
    expect([...res.subarray(8, 16)]).toEqual([0xa4, 0xa5, 0xa6, 0xa7, 0xff, 0xff, 0xff, 0xff]);
  });
});
