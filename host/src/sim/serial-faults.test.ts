import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { SerialFaults } from './serial-faults.ts';
import { buildFirmware } from './firmware-build.ts';

function echoRun(faults: SerialFaults | null, payload: string, seconds = 0.01) {
  const node = new SimNode({ fuses: { high: 0xdf } });
  node.loadHex(buildFirmware('uart_echo.c').hex);
  node.reset('power');
  const got: number[] = [];
  node.uart.onData((d) => got.push(...d));
  node.runUntil(() => got.length === 6, 16e6); // READY\n
  got.length = 0;
  node.uart.faults = faults;
  node.uart.write(payload);
  node.runFor(seconds);
  return { got, node };
}

const payload = 'The quick brown fox jumps over the lazy dog';

describe('SerialFaults on the host<->node line', () => {
  it('is transparent without faults', () => {
    expect(String.fromCharCode(...echoRun(null, payload).got)).toBe(payload);
  });

  it('drops, corrupts and duplicates bytes reproducibly from a seed', () => {
    const make = () => new SerialFaults({ seed: 9, drop: 0.1, corrupt: 0.1, duplicate: 0.1, directions: ['to-node'] });
    const a = echoRun(make(), payload);
    const b = echoRun(make(), payload);
    expect(a.got).toEqual(b.got);
    expect(String.fromCharCode(...a.got)).not.toBe(payload);
    const f = a.node.uart.faults!;
    expect(f.counts.dropped + f.counts.corrupted + f.counts.duplicated).toBeGreaterThan(0);
    expect(a.got.length).toBe(payload.length - f.counts.dropped + f.counts.duplicated);
  });

  it('loses bytes while the link is down', () => {
    const faults = new SerialFaults();
    const node = new SimNode({ fuses: { high: 0xdf } });
    node.loadHex(buildFirmware('uart_echo.c').hex);
    node.reset('power');
    const got: number[] = [];
    node.uart.onData((d) => got.push(...d));
    node.runFor(0.002);
    got.length = 0;
    node.uart.faults = faults;
    faults.linkDown(node.seconds, node.seconds + 0.001);
    node.uart.write('0123456789abcdefghij'); // 20 bytes = 1.7 ms at 115200
    node.runFor(0.01);
    expect(faults.counts.lostWhileDown).toBeGreaterThan(8);
    expect(String.fromCharCode(...got)).toBe('0123456789abcdefghij'.slice(faults.counts.lostWhileDown));
  });

  it('delays bytes node->host in order', () => {
    const faults = new SerialFaults({ delay: { probability: 1, seconds: 0.002 }, directions: ['to-host'] });
    const { got } = echoRun(faults, 'abc', 0.001);
    expect(got).toEqual([]); // still in flight
    const { got: later } = echoRun(new SerialFaults({ delay: { probability: 1, seconds: 0.002 }, directions: ['to-host'] }), 'abc', 0.005);
    expect(String.fromCharCode(...later)).toBe('abc');
  });
});
