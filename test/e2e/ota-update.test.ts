// issue 5, "Done when": update v1 -> v2, then a trial that is confirmed; a trial that is not
// confirmed reverts; stage now, activate later. Real bootloader, real sketches, the CLI's code.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BootResult, BootState } from '../../protocol/ts/index.ts';
import type { RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { V1, V2, blink, cli, firmwareMissing, node, serialUntil, withNode } from './ota-helpers.ts';

let sim: RunningSimNode | null = null;
afterEach(() => { sim?.stop(); sim = null; });

describe.skipIf(firmwareMissing)(`OTA updates on the simulated node${firmwareMissing ? ` (skipped: ${firmwareMissing})` : ''}`, () => {
  it('updates v1 to v2, then runs a trial of v1 again that is confirmed', async () => {
    sim = node({ eeprom: '24LC512' });
    expect(serialUntil(sim, V1, 1)).toMatch(V1);
    const push = await cli('push', blink(2, '24LC512'), '--port', sim.port, '--activate', 'now', '--json');
    expect(push.code, push.err).toBe(0);
    expect(serialUntil(sim, V2, 4)).toMatch(V2);
    const info = await cli('info', '--port', sim.port, '--json');
    expect(info.json()).toMatchObject({ current: push.json().slot, lastResult: 'INSTALLED' });

    const trial = await cli('push', blink(1, '24LC512'), '--port', sim.port, '--activate', 'trial', '--confirms', '--json');
    expect(trial.code, trial.err).toBe(0);
    expect(serialUntil(sim, V1, 4)).toMatch(V1);
    const boot = await withNode(sim.port, (c) => c.boot());
    expect(boot.state).toBe(BootState.TRIAL);
    // While the trial runs, another activation is refused before anything is sent.
    const busy = await cli('push', blink(2, '24LC512'), '--port', sim.port, '--activate', 'now', '--json');
    expect(busy.code).toBe(1);
    expect(busy.json()).toMatchObject({ ok: false, error: { code: 'trial-running' } });
    expect((await cli('confirm', '--port', sim.port)).code).toBe(0);
    const after = await withNode(sim.port, (c) => c.boot());
    expect(after.state).toBe(BootState.IDLE);
    expect(after.result).toBe(BootResult.CONFIRMED);
    // Confirmed: a reset keeps v1.
    sim.node.reset('external');
    expect(serialUntil(sim, V1, 4)).toMatch(V1);
  });

  it('reverts a trial that is not confirmed', async () => {
    sim = node({ eeprom: '24LC512' });
    expect((await cli('push', blink(2, '24LC512'), '--port', sim.port, '--activate', 'now')).code).toBe(0);
    serialUntil(sim, V2, 4);
    expect((await cli('push', blink(1, '24LC512'), '--port', sim.port, '--activate', 'trial')).code).toBe(0);
    // The trial image runs (the bootloader has installed it: its banner is out); a reset comes
    // before any confirm (an external one here; a hung application's watchdog does the same).
    expect(serialUntil(sim, V1, 4)).toMatch(V1);
    sim.node.reset('external');
    expect(serialUntil(sim, V2, 6)).toMatch(V2);
    const boot = await withNode(sim.port, (c) => c.boot());
    expect(boot.result).toBe(BootResult.REVERTED);
  });

  it('after a serial upload, a trial backs up the flash, not the stale slot the boot record names', async () => {
    sim = node({ eeprom: '24LC512' });
    expect((await cli('push', blink(2, '24LC512'), '--port', sim.port, '--activate', 'now')).code).toBe(0);
    serialUntil(sim, V2, 4); // v2 runs from slot 0: the boot record says current = 0
    // v1 arrives by a serial upload (avrdude through the bootloader writes the application
    // pages; the boot record is not touched and still names slot 0, which holds v2).
    sim.node.flash.fill(0xff, 0, sim.bootStart);
    sim.node.loadHex(readFileSync(blink(1, '24LC512')));
    sim.node.reset('external');
    expect(serialUntil(sim, V1, 3)).toMatch(V1);
    // A trial of v2 again: slot 0 already holds it. The backup must be v1, copied from flash.
    const trial = await cli('push', blink(2, '24LC512'), '--port', sim.port, '--activate', 'trial', '--json');
    expect(trial.code, trial.err).toBe(0);
    expect(serialUntil(sim, V2, 6)).toMatch(V2);
    const boot = await withNode(sim.port, (c) => c.boot());
    expect(boot).toMatchObject({ state: BootState.TRIAL, slot: 0, backup: 1 });
    // Not confirmed: the revert brings back what ran before the trial, v1.
    sim.node.reset('external');
    expect(serialUntil(sim, V1, 6)).toMatch(V1);
    expect((await withNode(sim.port, (c) => c.boot())).result).toBe(BootResult.REVERTED);
  });

  it('stages now and activates later', async () => {
    sim = node();
    const r = await cli('push', blink(2), '--port', sim.port, '--activate', 'later', '--json');
    expect(r.code, r.err).toBe(0);
    sim.node.runFor(2);
    // Still v1 (its banner went out at power-on, before this test listened): nothing installs before a reset.
    expect((await cli('info', '--port', sim.port, '--json')).json()).toMatchObject({ app: { version: '1.0.0' }, bootState: 'PENDING' });
    const slots = await cli('slots', '--port', sim.port, '--json');
    expect((slots.json().slots as { roles: string[] }[])[r.json().slot as number].roles).toContain('pending');
    expect((await cli('reboot', '--port', sim.port)).code).toBe(0);
    expect(serialUntil(sim, V2, 4)).toMatch(V2);
  });

  it('refuses a trial on a one-slot 24LC256 before sending anything', async () => {
    sim = node({ eeprom: '24LC256' });
    serialUntil(sim, V1, 1); // v1 boots (a blank EEPROM stays blank: the host formats it)
    const before = sim.node.eeprom!.memory.slice();
    const r = await cli('push', blink(2), '--port', sim.port, '--activate', 'trial', '--json');
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ ok: false, error: { code: 'no-backup-room' } });
    expect(sim.node.eeprom!.memory).toEqual(before);
  });
});
