import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { buildSketch } from './firmware-build.ts';

describe('Arduino core on the simulated node (interrupt-driven Wire and Serial)', () => {
  it('writes, ACK-polls and reads back the I2C EEPROM with Wire, and talks over Serial', () => {
    const fw = buildSketch('WireCheck', ['Wire']);
    const node = new SimNode({ fuses: { high: 0xdf } });
    node.loadHex(fw.hex);
    node.reset('power');
    let out = '';
    node.uart.onData((d) => (out += Buffer.from(d).toString('latin1')));
    expect(node.runUntil(() => out.includes('\n'), 16e6 * 0.1)).toBe(true);
    const [verdict, err, polls] = out.trim().split(' ');
    expect(verdict).toBe('OK');
    expect(err).toBe('0');
    expect(Number(polls)).toBeGreaterThan(20); // the 5 ms write cycle NACKed the first polls
    expect(node.eeprom!.memory[0x100]).toBe(0x30);
    out = '';
    node.uart.write('abcdefghij');
    node.runFor(0.01);
    expect(out).toBe('bcdefghijk');
    expect(node.uart.overruns).toBe(0);
  });
});
