// Power-cut campaign: an apply of a 25-page image is cut at every flash erase and write, and at
// random points of every EEPROM record write (torn writes). In every run the node must come back
// up running an application whose flash CRC is valid, and the new one once power stays on.
import { describe, expect, it } from 'vitest';
import { BootState, crc32 } from '../../protocol/ts/index.ts';
import { appImage, makeNode, runUntilApp, stage, writeBoot } from './node.ts';

const OLD = appImage('v1_mid', 16);
const NEW = appImage('v2_mid', 16);

function setup(seed: number) {
  const t = makeNode({ app: OLD, seed });
  stage(t.eeprom, t.layout, 0, NEW);
  writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0 });
  return t;
}

/** After the cut, power stays on: the node must end running the new image, intact. */
function recover(t: ReturnType<typeof setup>): number | null {
  t.take();
  t.node.powerOn();
  const v = runUntilApp(t.node, t.take, 3);
  if (v !== null) {
    const img = v === 2 ? NEW : OLD;
    expect(crc32(t.node.flash.subarray(0, img.length))).toBe(crc32(img));
  }
  return v;
}

describe('power-cut campaign (16 MHz, 24LC256, 25-page image)', () => {
  it('survives a cut at every flash erase and write of the apply', () => {
    const clean = setup(1);
    clean.node.powerOn();
    expect(runUntilApp(clean.node, clean.take, 3)).toBe(2);
    const ops = clean.node.flashOps;
    expect(ops).toBeGreaterThanOrEqual(40);
    let ran = 0;
    for (let k = 1; k <= ops; k++) {
      const t = setup(100 + k);
      let cut = false;
      t.node.onFlashOp((ev) => {
        if (!cut && ev.n === k) {
          cut = true;
          t.node.powerCut();
        }
      });
      t.node.powerOn();
      t.node.runUntil(() => cut, 16e6 * 3, 4096);
      expect(cut).toBe(true);
      expect(recover(t)).toBe(2);
      ran++;
    }
    console.log(`power-cut campaign: ${ran} cuts, one at each of the ${ops} flash erases/writes; every run ended in the new image with a valid CRC`);
  });

  it('survives torn EEPROM writes of every state change', () => {
    const clean = setup(2);
    const before = clean.eeprom.writeCycles;
    clean.node.powerOn();
    expect(runUntilApp(clean.node, clean.take, 3)).toBe(2);
    const writes = clean.eeprom.writeCycles - before;
    expect(writes).toBeGreaterThanOrEqual(2); // INSTALLING, then IDLE
    let runs = 0;
    let torn = 0;
    for (let j = 1; j <= writes; j++) {
      for (let rep = 0; rep < 6; rep++) {
        const t = setup(1000 + j * 10 + rep);
        const start = t.eeprom.writeCycles;
        t.node.powerOn();
        // run into the j-th write cycle, then cut at a random point inside its 5 ms
        t.node.runUntil(() => t.eeprom.writeCycles - start >= j, 16e6 * 3, 64);
        t.node.runFor((rep / 6) * 0.005);
        const tornBefore = t.eeprom.tornWrites;
        t.node.powerCut();
        torn += t.eeprom.tornWrites - tornBefore;
        expect(recover(t)).toBe(2);
        runs++;
      }
    }
    console.log(`power-cut campaign: ${runs} cuts during the ${writes} record writes of an apply (${torn} torn); every run ended in the new image with a valid CRC`);
  });
});
