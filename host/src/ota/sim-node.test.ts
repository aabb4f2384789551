// The simulated node's boot section comes from the bootloader hex itself, so the 2 KiB build
// of today (0x7800) and the 1 KiB one being cut down (0x7C00) both boot without edits.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIhex } from '../formats/ihex.ts';
import { extent } from '../formats/memory.ts';
import { bootStartFor, bootloaderHex, highFuseFor } from './sim-node.ts';

describe('boot section and fuses from the bootloader hex', () => {
  it('maps each boot section start to BOOTSZ with BOOTRST programmed, as the bootloader README lists', () => {
    expect(highFuseFor(0x7800)).toBe(0xda);
    expect(highFuseFor(0x7c00)).toBe(0xdc);
    expect(highFuseFor(0x7e00)).toBe(0xde);
    expect(highFuseFor(0x7000)).toBe(0xd8);
    expect(() => highFuseFor(0x7a00)).toThrow(/not a boot section start/);
  });

  it('picks the smallest section that holds the bootloader', () => {
    expect(bootStartFor(0x7800)).toBe(0x7800);
    expect(bootStartFor(0x7c00)).toBe(0x7c00);
    expect(bootStartFor(0x7a10)).toBe(0x7800); // code that starts inside a section still needs all of it
    expect(() => bootStartFor(0x6000)).toThrow(/below the largest boot section/);
  });

  it('names the 16 MHz build, whose lowest address is a boot section start', () => {
    const path = bootloaderHex(16);
    expect(path).toMatch(/stageboot_atmega328p_16mhz\.hex$/);
    const lowest = extent(parseIhex(readFileSync(path!), path!).segments)!.start;
    expect(bootStartFor(lowest)).toBe(lowest);
  });
});
