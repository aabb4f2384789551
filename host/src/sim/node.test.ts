import { describe, expect, it } from 'vitest';
import { SimNode } from './node.ts';
import { buildFirmware } from './firmware-build.ts';

const DONE = 0xd0;
const GPIOR0 = 0x3e;

function boot(name: string | string[], opts: ConstructorParameters<typeof SimNode>[0] = {}, build = {}) {
  const fw = buildFirmware(name, build);
  const node = new SimNode({ fuses: { high: 0xdf }, ...opts }); // BOOTRST unprogrammed: start at 0
  node.loadHex(fw.hex);
  node.reset('power');
  return { node, fw };
}

describe('SimNode basics', () => {
  it('runs a blink program: D13 toggles every millisecond', () => {
    const { node } = boot('blink.c');
    const led = node.pin('D13');
    let edges = 0;
    led.onChange(() => edges++);
    node.runFor(0.0205);
    expect(led.mode).toBe('output');
    expect(edges).toBeGreaterThanOrEqual(19);
    expect(edges).toBeLessThanOrEqual(21);
    expect(node.seconds).toBeCloseTo(0.0205, 6);
  });

  it('reads a driven input: PB4 follows the button on PD2 (pull-up when released)', () => {
    const { node } = boot('blink.c');
    node.runFor(0.003);
    expect(node.pin('PB4').level).toBe(1);
    node.pin('PD2').drive(0);
    node.runFor(0.003);
    expect(node.pin('PB4').level).toBe(0);
    node.pin('PD2').release();
    node.runFor(0.003);
    expect(node.pin('PB4').level).toBe(1);
  });
});

describe('resets and MCUSR', () => {
  it('power-on sets PORF only; a watchdog reset sets WDRF and keeps the watchdog on', () => {
    const { node, fw } = boot('reset_cause.c');
    const result = fw.symbol('result');
    const ok = node.runUntil(() => node.cpu.data[GPIOR0] === DONE, 16e6 * 0.2);
    expect(ok).toBe(true);
    const r = node.cpu.data.subarray(result, result + 8);
    expect(r[6] & 0x08).toBe(0x08); // third boot: WDE forced by WDRF
    expect(r[0]).toBe(3); // three boots
    expect(r[1]).toBe(0x01); // MCUSR after power-on: PORF
    expect(r[3]).toBe(0x08); // after the watchdog reset: WDRF
    expect(r[4] & 0x08).toBe(0x08); // WDE still set
    expect(r[5]).toBe(0x08); // WDRF was not cleared, so the watchdog bit again
    expect(r[7]).toBe(0); // cleared WDRF then WDE: the watchdog is off
    expect(node.resets.map((x) => x.cause)).toEqual(['power', 'power', 'watchdog', 'watchdog']);
  });

  it('the watchdog stays off once disabled', () => {
    const { node } = boot('reset_cause.c');
    node.runFor(0.2);
    const n = node.resets.length;
    node.runFor(0.5);
    expect(node.resets.length).toBe(n);
  });
});

describe('RESET pin, power and reset causes', () => {
  it('logs MCUSR per cause: external (RESET pin), brown-out, watchdog-free power cycle', () => {
    const { node, fw } = boot('reset_log.c');
    const r = fw.symbol('result');
    node.runFor(0.001);
    node.pin('RESET').drive(0);
    node.runFor(0.001);
    expect(node.resetHeld).toBe(true);
    expect(node.pin('D13').level).toBeNull(); // in reset every pin is tri-stated
    node.pin('RESET').drive(1);
    node.runFor(0.001);
    node.reset('brownout');
    node.runFor(0.001);
    node.reset('external');
    node.runFor(0.001);
    const log = [...node.cpu.data.slice(r, r + 5)];
    expect(log).toEqual([4, 0x01, 0x02, 0x04, 0x02]);
    node.powerCut();
    node.runFor(0.01);
    expect(node.pin('D13').level).toBeNull(); // unpowered: nothing drives the pin
    node.powerOn();
    node.runFor(0.001);
    expect([...node.cpu.data.slice(r, r + 2)]).toEqual([1, 0x01]);
  });

  it('keeps running no instructions while RESET is held low', () => {
    const { node } = boot('blink.c');
    const led = node.pin('D13');
    let edges = 0;
    led.onChange(() => edges++);
    node.pin('RESET').drive(0);
    node.runFor(0.01);
    expect(edges).toBe(0);
    node.pin('RESET').release();
    node.runFor(0.01);
    expect(edges).toBeGreaterThan(5);
  });

  it('reports the stack going below a limit', () => {
    const { node } = boot('blink.c', { stackLimit: 0x8fe });
    node.runFor(0.002);
    expect(node.stackOverflows).toBeGreaterThan(0);
    expect(node.minSp).toBeLessThan(0x8fe);
    expect(node.logLines.some((l) => l.includes('stack overflow'))).toBe(true);
  });
});

describe('internal EEPROM and clock', () => {
  it('keeps the internal EEPROM through resets and power loss', () => {
    const { node, fw } = boot('ee_boots.c', { internalEeprom: new Uint8Array([0]) });
    node.runFor(0.01);
    node.reset('external');
    node.runFor(0.01);
    node.powerCut();
    node.runFor(0.01);
    node.powerOn();
    node.runFor(0.01);
    expect(node.internalEeprom[0]).toBe(3);
    expect(node.cpu.data[fw.symbol('result')]).toBe(3);
  });

  it('runs at 8 MHz: a 1 ms delay built for 8 MHz still takes 1 ms', () => {
    const { node } = boot('ee_boots.c', { clockHz: 8e6 }, { fcpu: 8_000_000 });
    let edges = 0;
    node.pin('D13').onChange(() => edges++);
    node.runFor(0.0205);
    expect(node.cycles - 164_000).toBeGreaterThanOrEqual(0); // instructions are atomic:
    expect(node.cycles - 164_000).toBeLessThan(5); // run() may overshoot by one instruction
    expect(edges).toBeGreaterThanOrEqual(19);
    expect(edges).toBeLessThanOrEqual(21);
  });
});
