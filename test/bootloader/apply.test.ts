// The bootloader applying staged images on the simulated node, with the real built hex.
import { describe, expect, it } from 'vitest';
import { BootResult, BootState, BootFlag, decodeRecord } from '../../protocol/ts/index.ts';
import { appImage, makeNode, readBoot, runUntilApp, runUntilText, stage, writeBoot, type Mhz } from './node.ts';

function bootRec(t: ReturnType<typeof makeNode>) {
  const { a, b } = readBoot(t.eeprom, t.layout);
  const ra = decodeRecord('BootRecord', a);
  const rb = decodeRecord('BootRecord', b);
  if (ra && rb) return ((ra.seq - rb.seq) & 0xffff) < 0x8000 ? ra : rb;
  return ra ?? rb;
}

describe.each([16, 8] as Mhz[])('apply at %i MHz', (mhz) => {
  it('installs a staged image; the new application runs; the boot record says IDLE, current = slot', () => {
    const t = makeNode({ mhz, app: appImage('v1', mhz) });
    stage(t.eeprom, t.layout, 0, appImage('v2', mhz));
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0 });
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    const r = bootRec(t)!;
    expect([r.state, r.current, r.result]).toEqual([BootState.IDLE, 0, BootResult.INSTALLED]);
    expect(r.attempts).toBe(0); // every page read back equal the first time: no retry
    // the images differ in few pages: only those are erased and written
    expect(t.node.flashOps).toBeGreaterThan(0);
    expect(t.node.flashOps).toBeLessThanOrEqual(4);
  });

  it.each([
    ['corrupt payload', BootResult.BAD_CRC, (p: Uint8Array) => ({ data: p.map((x, i) => (i === 100 ? x ^ 1 : x)) })],
    ['truncated payload', BootResult.BAD_CRC, () => ({ trunc: true })],
    ['wrong target', BootResult.WRONG_TARGET, () => ({ header: { signature: Uint8Array.of(0x1e, 0x95, 0x14) } })],
    ['oversize', BootResult.TOO_BIG, () => ({ header: { length: 0x7f00 } })],
    ['load address not 0', BootResult.TOO_BIG, () => ({ header: { loadAddr: 0x100 } })],
  ])('rejects a %s before touching flash; the old application keeps running', (_n, result, doctor) => {
    const t = makeNode({ mhz, app: appImage('v1', mhz) });
    const payload = appImage('v2', mhz);
    const d = doctor(payload) as { data?: Uint8Array; header?: object; trunc?: boolean };
    if (d.trunc) {
      // the slot holds fewer bytes than the header claims: the rest reads as erased EEPROM
      stage(t.eeprom, t.layout, 0, payload);
      t.eeprom.memory.fill(0xff, t.layout.sb.dataStart + payload.length - 40, t.layout.sb.dataStart + payload.length);
    } else {
      stage(t.eeprom, t.layout, 0, payload, d as never);
    }
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0, current: 7 });
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(1);
    expect(t.node.flashOps).toBe(0);
    const r = bootRec(t)!;
    expect([r.state, r.result, r.current]).toEqual([BootState.IDLE, result, 7]);
  });

  it('stays in the serial bootloader when there is no application (erased reset vector)', () => {
    const t = makeNode({ mhz });
    t.node.powerOn();
    t.node.runFor(1.5);
    // STK500 sync is answered
    t.take();
    t.node.uart.write([0x30, 0x20]);
    t.node.runFor(0.01);
    expect([...Buffer.from(t.take(), 'latin1')]).toEqual([0x14, 0x10]);
  });
});

describe('trial activation (24LC512: slot 0 new image, slot 1 backup)', () => {
  function trial(newApp: string) {
    const t = makeNode({ model: '24LC512', app: appImage('v1', 16) });
    stage(t.eeprom, t.layout, 0, appImage(newApp, 16));
    stage(t.eeprom, t.layout, 1, appImage('v1', 16));
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0, current: 1, backup: 1, flags: BootFlag.TRIAL });
    t.node.powerOn();
    return t;
  }

  it('without confirm the watchdog resets the trial and the backup is reinstalled', () => {
    const t = trial('v2');
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    expect(bootRec(t)!.state).toBe(BootState.TRIAL);
    // the trial application never confirms: within 8 s the watchdog resets it
    t.take();
    expect(runUntilText(t.node, t.take, /APP 1\n/, 10)).toBe(true);
    const r = bootRec(t)!;
    expect([r.state, r.current, r.result]).toEqual([BootState.IDLE, 1, BootResult.REVERTED]);
    expect(t.node.resets.some((x) => x.cause === 'watchdog')).toBe(true);
  });

  it('with confirm the new application stays', () => {
    const t = trial('v2_confirm');
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    t.node.runFor(10);
    expect(t.take()).toMatch(/APP 2\n$/);
    const r = bootRec(t)!;
    expect([r.state, r.current, r.result]).toEqual([BootState.IDLE, 0, BootResult.CONFIRMED]);
    expect(t.node.resets.filter((x) => x.cause === 'watchdog')).toHaveLength(0);
  });
});
