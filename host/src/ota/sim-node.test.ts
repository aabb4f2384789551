// The simulated node's boot section and fuses come from the bootloader hex itself, so a build
// for any boot section size boots without edits.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIhex } from '../formats/ihex.ts';
import { extent } from '../formats/memory.ts';
import { join } from 'node:path';
import { fusesForBootloader, lockRules, STAGEBOOT_LOCK } from '../sim/chip/fuses.ts';
import { bootloaderHex, startSimNode } from './sim-node.ts';

describe('boot section and fuses from the bootloader hex', () => {
  it('maps each boot section start to BOOTSZ with BOOTRST programmed, as the bootloader README lists', () => {
    expect(fusesForBootloader(0x7800).high).toBe(0xda);
    expect(fusesForBootloader(0x7c00).high).toBe(0xdc);
    expect(fusesForBootloader(0x7e00).high).toBe(0xde);
    expect(fusesForBootloader(0x7000).high).toBe(0xd8);
    expect(() => fusesForBootloader(0x7a00)).toThrow(/must start at a boot section/);
    expect(fusesForBootloader(0x7c00, STAGEBOOT_LOCK).lock).toBe(0xef);
  });

  it('names the 16 MHz build, whose lowest address is a boot section start', () => {
    const path = bootloaderHex(16);
    expect(path).toMatch(/stageboot_atmega328p_16mhz\.hex$/);
    const lowest = extent(parseIhex(readFileSync(path!), path!).segments)!.start;
    expect(() => fusesForBootloader(lowest)).not.toThrow();
  });

  it('lets the sketch read the bootloader version word (BLB1 mode 2)', () => {
    const running = startSimNode({ app: join(import.meta.dirname, '..', '..', '..', 'sketch-lib', 'hex', 'SerialNode.hex') });
    try {
      const { node, bootStart } = running;
      const word = node.flash[0x7ffe] | (node.flash[0x7fff] << 8);
      expect(word).not.toBe(0xffff);
      expect(lockRules(node.fuses)).toMatchObject({ lpmBootFromAppLocked: false, spmBootLocked: true });
      expect(bootStart).toBe(node.bootStart);
    } finally {
      running.stop();
    }
  });
});
