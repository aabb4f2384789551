// The do_spm service at BL_START + 2 (Optiboot's ABI), used by an application on the simulated
// node with the real bootloader and stageboot's lock byte.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIhex } from '../../host/src/formats/ihex.ts';
import { buildFirmware } from '../../host/src/sim/firmware-build.ts';
import { ROOT, bootloaderHex, flashFromZero, makeNode, runUntilText, type Mhz } from './node.ts';

function spmUser(mhz: Mhz, blStart: number): Uint8Array {
  const fw = buildFirmware(join(ROOT, 'test/bootloader/apps/spm_user.c'), {
    fcpu: mhz * 1_000_000,
    defines: { BAUD: `${mhz === 16 ? 115200 : 57600}UL`, BL_START: blStart },
  });
  return flashFromZero(fw.hex);
}

describe.each([16, 8] as Mhz[])('do_spm at %i MHz', (mhz) => {
  it('erases, fills and writes an application page for the application; refuses the boot section; the version word reads 0x0100', () => {
    const blStart = Math.min(...parseIhex(bootloaderHex(mhz)).segments.map((s) => s.address));
    expect(blStart).toBe(0x7c00);
    const t = makeNode({ mhz, app: spmUser(mhz, blStart) });
    t.node.powerOn();
    let text = '';
    const take = () => {
      const s = t.take();
      text += s;
      return s;
    };
    expect(runUntilText(t.node, take, /V[0-9a-f]{4}\n/, 1)).toBe(true);
    expect(text).toBe('SPM ok BL ok V0100\n');
    for (let i = 0; i < 64; i++) expect(t.node.flash[0x6000 + 2 * i + 1]! << 8 | t.node.flash[0x6000 + 2 * i]!).toBe(0xa500 + i);
  });
});
