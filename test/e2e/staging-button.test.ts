// The Staging example (sketch-lib/examples/Staging): the host stages an image without
// activating it, and a button on D2 (to ground) installs it. Real bootloader, real sketches,
// the button pressed by driving the simulated pin.
import { afterEach, describe, expect, it } from 'vitest';
import { BootResult, BootState, SlotState } from '../../protocol/ts/index.ts';
import { missingFirmware, type RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { blink, bootRecord, cli, hex, node, serialText, serialUntil, slotBytes, withNode } from './ota-helpers.ts';

const missing = missingFirmware(['Staging', 'BlinkV2', 'Staging-24LC512-trial', 'BlinkV2-24LC512']);
const STAGING = /Staging 1\.0\.0/;
const BLINK_V2 = /BlinkV2 2\.0\.0/;

let sim: RunningSimNode | null = null;
afterEach(() => { sim?.stop(); sim = null; });

/** Holds the button down for `seconds` (past the sketch's 50 ms debounce), then lets go. */
function press(s: RunningSimNode, seconds = 0.1): string {
  const button = s.node.pin('D2');
  button.drive(0);
  const text = serialText(s, seconds);
  button.release();
  return text + serialText(s, 0.05);
}

/** LED (D13) level changes during `seconds` of simulated time. */
function ledToggles(s: RunningSimNode, seconds: number): number {
  let n = 0;
  const off = s.node.pin('D13').onChange(() => { n++; });
  s.node.runFor(seconds);
  off();
  return n;
}

describe.skipIf(missing)(`Staging example: install on a button${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('a press with nothing staged says so, and changes nothing', async () => {
    sim = node({ app: hex('Staging') });
    expect(serialUntil(sim, STAGING, 1)).toMatch(STAGING);
    expect(sim.node.pin('D2').mode).toBe('input-pullup');
    const eeprom = sim.node.eeprom!.memory.slice();
    const resets = sim.node.resets;

    expect(press(sim)).toContain('nothing staged');
    // No reset, no EEPROM write, and the sketch still serves the host.
    expect(sim.node.resets).toBe(resets);
    expect(sim.node.eeprom!.memory).toEqual(eeprom);
    const info = await cli('info', '--port', sim.port, '--json');
    expect(info.code, info.err).toBe(0);
    expect(info.json()).toMatchObject({ app: { version: '1.0.0' } });
    // A second press behaves the same (the sketch waited for the release, then re-armed).
    expect(press(sim)).toContain('nothing staged');
    expect(sim.node.resets).toBe(resets);
  });

  it('a press ignores a staged copy of the running version', async () => {
    sim = node({ app: hex('Staging') });
    expect(serialUntil(sim, STAGING, 1)).toMatch(STAGING);
    const push = await cli('push', hex('Staging'), '--app-version', '1.0.0', '--port', sim.port, '--json');
    expect(push.code, push.err).toBe(0);
    const slot = await withNode(sim.port, (c) => c.slot(push.json().slot as number));
    expect(slot.state).toBe(SlotState.STAGED);
    const boot = await withNode(sim.port, (c) => c.boot());
    const resets = sim.node.resets;
    expect(press(sim)).toContain('nothing staged');
    expect(sim.node.resets).toBe(resets);
    expect(await withNode(sim.port, (c) => c.boot())).toEqual(boot);
  });

  it('a press installs the image the host staged, which then runs', async () => {
    sim = node({ app: hex('Staging') });
    expect(serialUntil(sim, STAGING, 1)).toMatch(STAGING);
    const push = await cli('push', blink(2), '--port', sim.port, '--json');
    expect(push.code, push.err).toBe(0);
    const slot = push.json().slot as number;
    expect(push.json().activated).toBeNull();

    // Staged, not installed: Staging still runs and the boot record asks for nothing.
    expect(ledToggles(sim, 0.5)).toBe(0); // Staging does not drive the LED
    const staged = await withNode(sim.port, async (c) => ({ info: await c.info(), boot: await c.boot(), slot: await c.slot(slot) }));
    expect(staged.slot.state).toBe(SlotState.STAGED);
    expect(staged.boot.state).not.toBe(BootState.PENDING);
    expect(staged.info.appCrc).not.toBe(staged.slot.header.payloadCrc);

    const said = press(sim);
    expect(said).toContain(`installing slot ${slot}`);
    expect(said).not.toContain('nothing staged');
    // The bootloader installs it; BlinkV2 prints its banner and blinks at 4 Hz (8 edges a second).
    expect(serialUntil(sim, BLINK_V2, 4)).toMatch(BLINK_V2);
    const edges = ledToggles(sim, 2);
    expect(edges).toBeGreaterThanOrEqual(15);
    expect(edges).toBeLessThanOrEqual(17);

    const after = await withNode(sim.port, async (c) => ({ info: await c.info(), boot: await c.boot(), slot: await c.slot(slot) }));
    expect(after.boot).toMatchObject({ state: BootState.IDLE, result: BootResult.INSTALLED, current: slot });
    expect(after.slot.state).toBe(SlotState.STAGED); // kept: it is the running image now
    expect(after.info.appCrc).toBe(after.slot.header.payloadCrc);
    expect(after.info.current).toBe(slot);
    // What runs is what the host sent: the flash holds the slot's bytes.
    const len = after.slot.header.length;
    expect(sim.node.flash.subarray(0, len)).toEqual(slotBytes(sim, slot, len));
  });

  it('built for a trial, a press saves Staging into the free slot, installs for a trial, and a reset without confirm brings Staging back', async () => {
    sim = node({ app: hex('Staging-24LC512-trial'), eeprom: '24LC512' });
    expect(serialUntil(sim, STAGING, 1)).toMatch(STAGING);
    const push = await cli('push', blink(2, '24LC512'), '--port', sim.port, '--json');
    expect(push.code, push.err).toBe(0);
    const slot = push.json().slot as number;
    const backup = 1 - slot; // the 24LC512's other slot, still EMPTY
    const info = await withNode(sim.port, (c) => c.info());
    expect((await withNode(sim.port, (c) => c.slot(backup))).state).toBe(SlotState.EMPTY);
    const own = sim.node.flash.slice(0, info.appLen);

    // The press: the sketch copies itself into the free slot, checks the copy, marks the trial
    // and reboots; the bootloader installs BlinkV2 for a trial.
    expect(press(sim)).toContain(`installing slot ${slot}`);
    expect(serialUntil(sim, BLINK_V2, 8)).toMatch(BLINK_V2);
    expect(bootRecord(sim)).toMatchObject({ state: BootState.TRIAL, current: slot, backup });
    const saved = await withNode(sim.port, (c) => c.slot(backup));
    expect(saved).toMatchObject({ state: SlotState.STAGED, progress: info.appLen });
    expect(saved.header).toMatchObject({ length: info.appLen, payloadCrc: info.appCrc, buildId: info.appCrc, appVersion: 0x010000 });
    expect(slotBytes(sim, backup, info.appLen)).toEqual(own);

    // BlinkV2 does not confirm: the next reset reinstalls Staging from the copy.
    sim.node.reset('external');
    expect(serialUntil(sim, STAGING, 8)).toMatch(STAGING);
    expect(bootRecord(sim)).toMatchObject({ state: BootState.IDLE, result: BootResult.REVERTED, current: backup });
    expect(sim.node.flash.subarray(0, own.length)).toEqual(own);
  });
});
