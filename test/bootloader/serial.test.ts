// The bootloader's serial side (STK500v1 as avrdude -c arduino uses it) on the simulated node.
import { describe, expect, it } from 'vitest';
import type { FlashOpEvent } from '../../host/src/sim/index.ts';
import { appImage, makeNode, runUntilApp, type Mhz } from './node.ts';
import { PAGE, STK, Stk500 } from './stk500.ts';

const OK = [STK.INSYNC, STK.OK];
const WDTCSR = 0x60;

/** A node with application v1, just after an external reset (the bootloader listens). */
function listening(mhz: Mhz) {
  const t = makeNode({ mhz, app: appImage('v1', mhz) });
  t.node.powerOn();
  t.node.runFor(0.05);
  t.take();
  t.node.reset('external');
  t.node.runFor(0.05); // as avrdude, give the bootloader a moment after the reset
  return { ...t, stk: new Stk500(t.node) };
}

describe.each([16, 8] as Mhz[])('STK500 at %i MHz', (mhz) => {
  it('answers the commands avrdude -c arduino opens a session with', () => {
    const { stk } = listening(mhz);
    expect(stk.cmd([STK.GET_SYNC])).toEqual(OK);
    expect(stk.cmd([STK.GET_PARAMETER, 0x81], 3)).toEqual([STK.INSYNC, 1, STK.OK]); // SW major
    expect(stk.cmd([STK.GET_PARAMETER, 0x82], 3)).toEqual([STK.INSYNC, 0, STK.OK]); // SW minor
    expect(stk.cmd([STK.GET_PARAMETER, 0x80], 3)).toEqual([STK.INSYNC, 3, STK.OK]); // anything else
    expect(stk.cmd([STK.SET_DEVICE, ...new Array<number>(20).fill(0x86)])).toEqual(OK);
    // avrdude sends n_extparms + 1 = 4 bytes to a programmer whose version is <= 1.10
    expect(stk.cmd([STK.SET_DEVICE_EXT, 4, 4, 0xd7, 0xc2])).toEqual(OK);
    expect(stk.cmd([STK.ENTER_PROGMODE])).toEqual(OK);
    expect(stk.cmd([STK.READ_SIGN], 5)).toEqual([STK.INSYNC, 0x1e, 0x95, 0x0f, STK.OK]);
    expect(stk.cmd([STK.UNIVERSAL, 0xac, 0x80, 0, 0], 3)).toEqual([STK.INSYNC, 0, STK.OK]); // chip erase: 0
    expect(stk.cmd([STK.GET_SYNC])).toEqual(OK);
  });

  it('programs pages (erase while the page arrives, write while the next command does), reads them back, leaves into the application', () => {
    const t = listening(mhz);
    const { stk, node } = t;
    const img = appImage('v2_mid', mhz);
    const pages = Math.ceil(img.length / PAGE);
    const ops: FlashOpEvent[] = [];
    node.onFlashOp((ev) => ops.push(ev));
    expect(stk.cmd([STK.GET_SYNC])).toEqual(OK);
    const sends: { page: number; lastDataByteAt: number; replyAt: number }[] = [];
    for (let p = 0; p < pages; p++) {
      const data = new Uint8Array(PAGE).fill(0xff);
      data.set(img.subarray(p * PAGE, (p + 1) * PAGE));
      expect(stk.loadAddress(p * PAGE)).toEqual(OK);
      const x = stk.progPage(data);
      expect(x.reply).toEqual(OK);
      // the EOP ends the frame: the last data byte ended one byte time earlier
      sends.push({ page: p, lastDataByteAt: x.sentTo - (x.sentTo - x.sentFrom) / (PAGE + 5), replyAt: x.doneAt });
    }
    expect(node.uart.overruns).toBe(0);
    for (const s of sends) {
      const erase = ops.find((o) => o.kind === 'erase' && o.page === s.page)!;
      const write = ops.find((o) => o.kind === 'write' && o.page === s.page)!;
      expect(erase.cycle).toBeLessThan(s.lastDataByteAt); // erase overlapped with receiving
      expect(write.doneAt).toBeGreaterThan(s.replyAt); // write runs on after the reply
    }
    expect(ops).toHaveLength(2 * pages);
    for (let p = 0; p < pages; p++) {
      expect(stk.loadAddress(p * PAGE)).toEqual(OK);
      const r = stk.readPage();
      expect(r.slice(0, 1).concat(r.slice(-1))).toEqual(OK);
      const want = new Uint8Array(PAGE).fill(0xff);
      want.set(img.subarray(p * PAGE, (p + 1) * PAGE));
      expect(r.slice(1, -1)).toEqual([...want]);
    }
    expect([...node.flash.subarray(0, img.length)]).toEqual([...img]);
    t.take();
    const leave = stk.xfer([STK.LEAVE_PROGMODE, STK.EOP], 2);
    expect(leave.reply).toEqual(OK);
    // LEAVE_PROGMODE sets the watchdog to 16 ms (WDE, WDP = 0). The counter runs from the WDR
    // at the last byte read (the EOP), so the reset comes 16 ms after it, not at the 1 s deadline.
    expect(node.cpu.data[WDTCSR] & 0x2f).toBe(0x08);
    expect(runUntilApp(node, t.take, 0.1)).toBe(2);
    const reset = node.resets.at(-1)!;
    expect(reset.cause).toBe('watchdog');
    expect((reset.cycle - leave.sentTo) / node.clockHz).toBeGreaterThan(0.016 - 1e-4);
    expect((reset.cycle - leave.sentTo) / node.clockHz).toBeLessThan(0.016 + 1e-4);
  });

  it('programs the pages across the NRWW boundary (0x7000) without losing a byte', () => {
    const { stk, node } = listening(mhz);
    const ops: FlashOpEvent[] = [];
    node.onFlashOp((ev) => ops.push(ev));
    expect(stk.cmd([STK.GET_SYNC])).toEqual(OK);
    const first = 0x7000 / PAGE - 3;
    const data = (p: number) => Uint8Array.from({ length: PAGE }, (_, i) => (p * 7 + i * 13) & 0xff);
    for (let p = first; p < first + 6; p++) {
      expect(stk.loadAddress(p * PAGE)).toEqual(OK);
      const x = stk.progPage(data(p));
      expect(x.reply).toEqual(OK);
      const erase = ops.find((o) => o.kind === 'erase' && o.page === p)!;
      const lastDataByteAt = x.sentTo - (x.sentTo - x.sentFrom) / (PAGE + 5);
      // an NRWW erase halts the CPU: it must wait until the whole frame is in
      if (p * PAGE >= 0x7000) expect(erase.cycle).toBeGreaterThan(lastDataByteAt);
      else expect(erase.cycle).toBeLessThan(lastDataByteAt);
    }
    expect(node.uart.overruns).toBe(0);
    for (let p = first; p < first + 6; p++) expect([...node.flash.subarray(p * PAGE, (p + 1) * PAGE)]).toEqual([...data(p)]);
  });

  it('with no host, the application starts after the 1 s watchdog', () => {
    const t = listening(mhz);
    t.node.runFor(0.8);
    expect(t.take()).toBe('');
    expect(runUntilApp(t.node, t.take, 0.5)).toBe(1);
    expect(t.node.resets.at(-1)!.cause).toBe('watchdog');
  });

  it('out of sync (no CRC_EOP): no reply, and the watchdog resets within a second', () => {
    const t = listening(mhz);
    const resets = t.node.resets.length;
    expect(t.stk.xfer([STK.GET_SYNC, 0x21], 1, 0.1).reply).toEqual([]);
    t.node.runFor(1.1);
    expect(t.node.resets.slice(resets).map((r) => r.cause)).toEqual(['watchdog']);
  });
});
