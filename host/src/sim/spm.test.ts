import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { buildFirmware } from './firmware-build.ts';
import type { FlashOpEvent } from './chip/spm.ts';

const GPIOR0 = 0x3e;
const DONE = 0xd0;
const page55 = new Uint8Array(128).fill(0x55);

function spmNode(lock = 0xff) {
  const fw = buildFirmware('spm_boot.c', { textStart: 0x7000 });
  // BOOTSZ = 00 (boot section 0x7000-0x7FFF), BOOTRST programmed.
  const node = new SimNode({ fuses: { high: 0xd8, lock } });
  node.loadHex(fw.hex);
  for (const a of [0x1100, 0x1200, 0x7f00]) node.loadFlash(page55, a);
  node.reset('power');
  const finished = node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 16e6 * 0.2);
  const r = fw.symbol('result');
  return { node, finished, result: node.cpu.data.slice(r, r + 16) };
}

describe('self-programming (SPM)', () => {
  it('BOOTRST starts execution in the boot section', () => {
    const fw = buildFirmware('boot_entry.c', { textStart: 0x7800 });
    const node = new SimNode({ fuses: { high: 0xda } }); // BOOTSZ=01: 0x7800, BOOTRST programmed
    node.loadHex(fw.hex);
    node.reset('power');
    expect(node.pcByte).toBe(0x7800);
    expect(node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 100_000)).toBe(true);
    expect(node.cpu.data[fw.symbol('result')]).toBe(0xb0);
  });

  it('erases and writes RWW pages with the RWW section blocked until RWWSRE', () => {
    const { finished, result, node } = spmNode();
    expect(finished).toBe(true);
    expect(result[0]).toBe(0xff); // blocked while busy
    expect(result[1]).toBe(255); // SPMEN stayed set for a long time (4.5 ms)
    expect(result[2]).toBe(0xff); // still blocked: RWWSB set
    expect(result[3]).toBe(1);
    expect(result[4]).toBe(0x55); // readable again after RWWSRE
    expect(result[5]).toBe(1); // page buffer -> page write -> read back
    const words = new Uint16Array(node.flash.buffer, 0x1000, 64);
    expect(words[0]).toBe(0x1234);
    expect(words[63]).toBe(0x1234 + 63);
  });

  it('halts the CPU for about 4.5 ms during an NRWW page erase', () => {
    const { result } = spmNode();
    const ticks = result[6] | (result[7] << 8);
    expect(ticks).toBeGreaterThanOrEqual(8990); // 4.5 ms at 2 MHz = 9000 ticks
    expect(ticks).toBeLessThanOrEqual(9020);
    expect(result[8]).toBe(0); // SPMEN already clear when the CPU resumes
    expect(result[9]).toBe(0xff);
  });

  it('ignores SPM that comes more than 4 cycles after the SPMCSR write', () => {
    const { result, node } = spmNode();
    expect(result[10]).toBe(0x55);
    expect(result[11]).toBe(0xff);
    expect(node.chip.spm.ignored.notArmed).toBe(1);
  });

  it('does nothing when SPM runs from the application section', () => {
    const fw = buildFirmware('spm_app.c');
    const node = new SimNode({ fuses: { high: 0xd9 } }); // BOOTRST unprogrammed
    node.loadHex(fw.hex);
    node.loadFlash(page55, 0x1100);
    node.reset('power');
    expect(node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 1_000_000)).toBe(true);
    expect(node.cpu.data[fw.symbol('result')]).toBe(0x55);
    expect(node.flash[0x1100]).toBe(0x55);
    expect(node.chip.spm.ignored.outsideBoot).toBe(1);
    expect(node.logLines.some((l) => l.includes('outside the boot section'))).toBe(true);
  });

  it('refuses to write the boot section when BLB1 forbids it (lock bits mode 2)', () => {
    const { result, node } = spmNode(0xef); // BLB12=1 BLB11=0
    expect(result[9]).toBe(0x55);
    expect(node.flash[0x7f00]).toBe(0x55);
    expect(node.chip.spm.ignored.locked).toBe(1);
    expect(result[5]).toBe(1); // the application section is still writable
  });

  it('reports each page erase/write and tears one cut by a power loss', () => {
    const fw = buildFirmware('spm_boot.c', { textStart: 0x7000 });
    const node = new SimNode({ fuses: { high: 0xd8, lock: 0xff }, seed: 7 });
    node.loadHex(fw.hex);
    node.loadFlash(page55, 0x1000);
    const ops: FlashOpEvent[] = [];
    node.onFlashOp((ev) => {
      ops.push(ev);
      if (ev.n === 1) node.cutPowerAt(ev.cycle + (ev.doneAt - ev.cycle) / 2);
    });
    node.reset('power');
    node.runFor(0.01);
    expect(ops[0]).toMatchObject({ kind: 'erase', page: 0x1000 / 128, n: 1 });
    expect(node.powered).toBe(false);
    const page = node.flash.subarray(0x1000, 0x1080);
    const erased = page.filter((b) => b === 0xff).length;
    expect(erased).toBeGreaterThan(0);
    expect(erased).toBeLessThan(128);
    expect(page.every((b) => b === 0xff || b === 0x55)).toBe(true);
  });
});
