// Session starts on a line without DTR: what a programmer relies on is that its first bytes
// after a pause meet a freshly reset bootloader (and are not lost to the reset), while bytes
// within a session never reset the node.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestFirmware, type TestFirmware } from '../../../../test/firmware/build.ts';
import { SimNode } from '../node.ts';
import { QuietSpellReset } from './auto-reset.ts';

let fw: TestFirmware;
beforeAll(() => {
  fw = buildTestFirmware();
});

const SYNC = Uint8Array.from([0x30, 0x20]); // STK_GET_SYNC, CRC_EOP
const externalResets = (n: SimNode) => n.resets.filter((r) => r.cause === 'external').length;

function optibootNode(): { node: SimNode; heard: number[] } {
  const node = new SimNode();
  node.loadHex(readFileSync(fw.optiboot, 'utf8'));
  const heard: number[] = [];
  node.uart.onData((b) => heard.push(...b));
  return { node, heard };
}

describe('QuietSpellReset', () => {
  it('resets on the first bytes after a quiet spell and hands them to the restarted bootloader', () => {
    const { node, heard } = optibootNode();
    let now = 0;
    const ar = new QuietSpellReset(node, { quietSeconds: 0.4, nowMs: () => now });
    node.runFor(1.5); // Optiboot found no host after power-on and went to the (blank) app
    ar.hostBytes(SYNC);
    node.runFor(0.01);
    expect(externalResets(node)).toBe(1);
    expect(heard).toEqual([0x14, 0x10]); // STK_INSYNC, STK_OK: the first bytes were not lost
  });

  it('does not reset within a session, and does again after a pause', () => {
    const { node, heard } = optibootNode();
    let now = 0;
    const ar = new QuietSpellReset(node, { quietSeconds: 0.4, nowMs: () => now });
    for (let i = 0; i < 3; i++) {
      ar.hostBytes(SYNC);
      node.runFor(0.01);
      now += 250; // avrdude's resend interval while it drains the line
    }
    expect(ar.sessions).toBe(1);
    expect(heard).toEqual([0x14, 0x10, 0x14, 0x10, 0x14, 0x10]);
    now += 1000;
    ar.hostBytes(SYNC);
    expect(ar.sessions).toBe(2);
    expect(externalResets(node)).toBe(2);
  });
});
