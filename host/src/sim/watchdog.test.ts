// A watchdog period changed while its counter runs: the counter counts on from the last WDR
// (or the enable), and the reset comes when it reaches the new period, not at the deadline of
// the old one. Firmware: test/firmware/sim/wdt_period.c.
import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { buildFirmware } from './firmware-build.ts';

const GPIOR0 = 0x3e;
const GPIOR1 = 0x4a;
const DONE = 0xd0;
const WDRF = 0x08;

/** Boots wdt_period.c in `mode`; returns the seconds of the enable, the change and the watchdog reset. */
function run(mode: number) {
  const fw = buildFirmware('wdt_period.c', { defines: { MODE: mode } });
  const node = new SimNode({ fuses: { high: 0xdf } }); // BOOTRST unprogrammed: start at 0
  node.loadHex(fw.hex);
  node.reset('power');
  const at = (mark: number) => {
    expect(node.runUntil(() => node.cpu.data[GPIOR1] === mark, 0.2 * node.clockHz, 1)).toBe(true);
    return node.seconds;
  };
  const enabled = at(1);
  const changed = at(2);
  expect(node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 1.5 * node.clockHz)).toBe(true);
  const r = fw.symbol('result');
  expect(node.cpu.data[r]! & WDRF).toBe(WDRF);
  const resets = node.resets.filter((x) => x.cause === 'watchdog');
  expect(resets).toHaveLength(1);
  return { enabled, changed, reset: resets[0]!.cycle / node.clockHz };
}

describe('watchdog period change', () => {
  it('a shorter period after WDR (wdt_enable) resets one new period later, not at the old 1 s deadline', () => {
    const t = run(1);
    expect(t.changed - t.enabled).toBeCloseTo(0.1, 2);
    expect(t.reset - t.changed).toBeGreaterThan(0.016 - 1e-4); // 2K cycles of the 128 kHz oscillator
    expect(t.reset - t.changed).toBeLessThan(0.016 + 1e-4);
  });

  it('a shorter period without WDR, with the counter already past it, resets at once', () => {
    const t = run(2);
    expect(t.reset - t.changed).toBeGreaterThanOrEqual(0);
    expect(t.reset - t.changed).toBeLessThan(2e-6);
  });

  it('a longer period without WDR resets when the counter, started at the enable, reaches it', () => {
    const t = run(3);
    expect(t.changed - t.enabled).toBeCloseTo(0.008, 3);
    expect(t.reset - t.enabled).toBeGreaterThan(0.256 - 1e-4); // 32K cycles, not 2K
    expect(t.reset - t.enabled).toBeLessThan(0.256 + 1e-4);
  });
});
