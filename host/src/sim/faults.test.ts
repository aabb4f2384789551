import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { buildFirmware } from './firmware-build.ts';
import { armFault, runCampaign } from './faults.ts';

const GPIOR0 = 0x3e;
const DONE = 0xd0;

function copier() {
  const fw = buildFirmware('spm_copy.c', { textStart: 0x7000 });
  const node = new SimNode({ fuses: { high: 0xd8, lock: 0xff } });
  node.loadHex(fw.hex);
  const src = new Uint8Array(512).map((_, i) => (i * 7 + 3) & 0xff);
  node.loadFlash(src, 0x2000);
  node.loadFlash(new Uint8Array(512).fill(0x11), 0x1000);
  node.reset('power');
  return { node, src };
}
const copied = (s: ReturnType<typeof copier>) =>
  s.node.flash.subarray(0x1000, 0x1200).every((b, i) => b === s.src[i]);

describe('fault campaigns', () => {
  it('cuts power during every flash operation; an idempotent copier always recovers', () => {
    const res = runCampaign({ build: copier, cutPoints: 'every-flash-op', maxSeconds: 0.1, thenRun: 0.1, check: copied });
    expect(res.referenceOps).toBe(8);
    expect(res.runs).toHaveLength(8);
    expect(res.runs.every((r) => r.fired)).toBe(true);
    expect(res.runs[0].hit).toBe('during erase of flash page 32');
    expect(res.failures).toEqual([]);
  });

  it('without time to recover, every cut leaves the copy unfinished', () => {
    const res = runCampaign({
      build: copier,
      cutPoints: [{ flashOp: 1 }, { flashOp: 4 }, { flashOp: 8 }],
      maxSeconds: 0.1,
      thenRun: 0,
      check: copied,
    });
    expect(res.failures).toHaveLength(3);
  });

  it('a cut during a flash op tears the page; a cut just after leaves it whole', () => {
    const during = copier();
    armFault(during.node, { flashOp: 2, when: 'during' }); // the first page write
    during.node.runFor(0.1);
    const page = during.node.flash.subarray(0x1000, 0x1080);
    const good = page.filter((b, i) => b === during.src[i]).length;
    expect(good).toBeGreaterThan(0);
    expect(good).toBeLessThan(128);

    const after = copier();
    armFault(after.node, { flashOp: 2, when: 'after' });
    after.node.runFor(0.1);
    expect(after.node.flash.subarray(0x1000, 0x1080).every((b, i) => b === after.src[i])).toBe(true);
    expect(after.node.flash.subarray(0x1080, 0x1100).every((b) => b === 0x11)).toBe(true);
  });

  it('a brown-out resets with BORF and keeps SRAM', () => {
    const s = copier();
    armFault(s.node, { seconds: 0.005, action: 'brownout' });
    s.node.runFor(0.1);
    expect(s.node.resets.map((r) => r.cause)).toContain('brownout');
    expect(s.node.mcusr & 0x04).toBe(0x04);
    expect(s.node.cpu.data[GPIOR0]).toBe(DONE);
  });

  it('tears an EEPROM page write when power goes during tWC', () => {
    const fw = buildFirmware('twi_eeprom.c');
    const node = new SimNode({ fuses: { high: 0xdf }, seed: 3 });
    node.loadHex(fw.hex);
    node.reset('power');
    const armed = armFault(node, { eepromWrite: 1 });
    node.runFor(0.05);
    expect(armed.fired).toBe(true);
    const eeprom = node.eeprom!;
    const written = [...eeprom.memory.subarray(0x13c, 0x140), ...eeprom.memory.subarray(0x100, 0x104)];
    const landed = written.filter((b, i) => b === 0xa0 + ((i + 0) % 8) || b === 0xa0 + i).length;
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(8);
    expect(written.every((b, i) => b === 0xff || b === 0xa0 + i)).toBe(true);
    expect(eeprom.tornWrites).toBe(1);
  });
});
