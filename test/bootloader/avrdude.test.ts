// The outside judge for the serial side: Debian's avrdude 7.1, unmodified (-c arduino), uploads an
// application to the stageboot bootloader through `stageboot sim --pty`, verifies it by reading
// it back, and the application then runs.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIhex } from '../../host/src/formats/ihex.ts';
import { readFileSync } from 'node:fs';
import { uploadWithAvrdude } from '../e2e/avrdude.ts';
import { SimCli } from '../e2e/sim-cli.ts';
import { ROOT, buildAll } from './node.ts';

let sim: SimCli | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('avrdude -c arduino + stageboot on the simulated node', () => {
  it('uploads and verifies a 25-page application, which then runs', async () => {
    buildAll();
    const fw = join(ROOT, 'build/test-firmware');
    const app = join(fw, 'apps/banner_v2_mid_16mhz.hex');
    const bytes = parseIhex(readFileSync(app, 'latin1')).segments.reduce((n, s) => n + s.data.length, 0);
    sim = await SimCli.start(['--bootloader', join(fw, 'bootloader/stageboot_atmega328p_16mhz.hex')]);

    const r = await uploadWithAvrdude(sim.pty, app);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/device signature = 0x1e950f/);
    expect(r.verifiedBytes, r.output).toBe(bytes);

    // LEAVE_PROGMODE: the watchdog resets the node and the bootloader starts the application
    const from = sim.serial.length;
    await sim.waitFor(() => sim!.serialSince(from).includes('APP 2\n'), 10_000, 'the banner of the uploaded application');
    expect(await sim.stop()).toBe(0);
    sim = undefined;
  }, 60_000);
});
