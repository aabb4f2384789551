import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { buildFirmware } from './firmware-build.ts';

const GPIOR0 = 0x3e;
const GPIOR1 = 0x4a;
const DONE = 0xd0;
const DOR0 = 0x08;
const FE0 = 0x10;

function start(name: string, opts: ConstructorParameters<typeof SimNode>[0] = {}) {
  const fw = buildFirmware(name);
  const node = new SimNode({ fuses: { high: 0xdf }, ...opts });
  node.loadHex(fw.hex);
  node.reset('power');
  return { node, fw };
}

function collect(node: SimNode) {
  const bytes: number[] = [];
  const times: number[] = [];
  node.uart.onData((d) => {
    for (const b of d) {
      bytes.push(b);
      times.push(node.cycles);
    }
  });
  return { bytes, times, text: () => String.fromCharCode(...bytes) };
}

describe('USART0', () => {
  it('transmits back to back at the UBRR0/U2X0 rate (1360 cycles per frame at 117,647 baud)', () => {
    const { node } = start('uart_echo.c');
    const rx = collect(node);
    node.runFor(0.002);
    expect(rx.text()).toBe('READY\n');
    const gaps = rx.times.slice(1).map((t, i) => t - rx.times[i]);
    for (const g of gaps) expect(Math.abs(g - 1360)).toBeLessThanOrEqual(4);
  });

  it('receives what the host sends at 115200 and echoes it', () => {
    const { node } = start('uart_echo.c');
    const rx = collect(node);
    node.runUntil(() => rx.bytes.length === 6, 16e6);
    rx.bytes.length = 0;
    node.uart.write('hello, node');
    node.runFor(0.003);
    expect(rx.text()).toBe('hello, node');
    expect(node.uart.overruns).toBe(0);
  });

  it('garbles bytes when the host baud does not match the node', () => {
    const { node } = start('uart_echo.c', { baud: 57600 });
    const rx = collect(node);
    node.runFor(0.002);
    expect(rx.text()).not.toBe('READY\n');
    node.uart.write('hello');
    node.runFor(0.005);
    expect(node.uart.counters.frameErrors).toBeGreaterThan(0);
  });

  it('holds three frames unread (2-byte FIFO + shift register); the fourth overruns (DOR0 set, bytes lost)', () => {
    const { node, fw } = start('uart_late.c');
    const r = fw.symbol('result');
    expect(node.runUntil(() => node.cpu.data[GPIOR1] === 1, 16e6)).toBe(true);
    node.uart.write([0x10, 0x11, 0x12]);
    expect(node.runUntil(() => node.cpu.data[GPIOR1] === 2, 16e6)).toBe(true);
    node.uart.write([0x20, 0x21, 0x22, 0x23, 0x24]);
    expect(node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 16e6)).toBe(true);
    const res = node.cpu.data.slice(r, r + 32);
    // Phase 1: all three bytes, no flags.
    expect(res[0]).toBe(3);
    expect([res[2], res[4], res[6]]).toEqual([0x10, 0x11, 0x12]);
    expect([res[1], res[3], res[5]].map((s) => s & (DOR0 | FE0))).toEqual([0, 0, 0]);
    // Phase 2: 0x22 and 0x23 were each pushed out of the shift register by the next start bit.
    expect(res[16]).toBe(3);
    expect([res[18], res[20], res[22]]).toEqual([0x20, 0x21, 0x24]);
    expect(res[17] & DOR0).toBe(0);
    expect(res[19] & DOR0).toBe(0);
    expect(res[21] & DOR0).toBe(DOR0); // the frame after the gap carries DOR0
    expect(node.uart.overruns).toBe(2);
  });

  it('drops bytes that arrive while the receiver is disabled', () => {
    const { node } = start('blink.c'); // never enables the USART
    node.uart.write('xy');
    node.runFor(0.001);
    expect(node.uart.counters.droppedDisabled).toBe(2);
  });
});
