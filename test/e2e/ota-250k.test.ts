// The 128-byte-chunk build at 250 kbaud (SerialNode-24LC512-250k): a chunk goes to the EEPROM
// straight from the frame buffer (about 3.3 ms of TWI), and at 250 kbaud more bytes arrive
// meanwhile than the core's 64-byte serial ring holds, so the node must report window 1 and
// the host must then lose nothing. A ~29 KiB sketch is pushed and installed; real bootloader,
// real sketches, the CLI's code.
import { afterEach, describe, expect, it } from 'vitest';
import { BootResult, BootState } from '../../protocol/ts/index.ts';
import { imageFor, loadPushFile } from '../../host/src/ota/firmware.ts';
import { missingFirmware, type RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { buildTestFirmware } from '../firmware/build.ts';
import { bootRecord, cli, hex, node, serialUntil, slotBytes, withNode } from './ota-helpers.ts';

const missing = missingFirmware(['SerialNode-24LC512-250k']);
const BAUD = '250000';

let sim: RunningSimNode | null = null;
afterEach(() => { sim?.stop(); sim = null; });

describe.skipIf(missing)(`128-byte chunks at 250 kbaud${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('reports window 1, takes a ~29 KiB image with no overrun and no resend, and installs it', async () => {
    const big = buildTestFirmware().big;
    sim = node({ app: hex('SerialNode-24LC512-250k'), eeprom: '24LC512', baud: Number(BAUD) });
    expect(serialUntil(sim, /SerialNode 1\.0\.0/, 1)).toMatch(/SerialNode 1\.0\.0/);

    const info = await cli('info', '--port', sim.port, '--baud', BAUD, '--json');
    expect(info.code, info.err).toBe(0);
    expect(info.json()).toMatchObject({ maxChunk: 128, window: 1 });

    const expected = imageFor(await loadPushFile(big), await withNode(sim.port, (c) => c.info(), undefined, Number(BAUD)), {});
    let pageWrites = 0;
    const off = sim.node.eeprom!.onWriteCycle((ev) => { if (ev.bytes === 128) pageWrites++; });
    const push = await cli('push', big, '--port', sim.port, '--baud', BAUD, '--activate', 'now', '--json');
    off();
    expect(push.code, push.err).toBe(0);
    const r = push.json();
    expect(r).toMatchObject({ chunkSize: 128, window: 1, resentChunks: 0, timeouts: 0, resumes: 0 });
    const bytes = r.bytes as number;
    expect(bytes).toBeGreaterThan(28 * 1024);
    // No byte lost on the way: no receive overrun in the USART, none dropped by the serial ring
    // (a lost byte breaks a frame's CRC, and the host would have resent that chunk).
    expect(sim.node.uart.overruns).toBe(0);
    expect(r.framesSent).toBe(Math.ceil(bytes / 128));
    // Whole pages: one write cycle per 128-byte chunk, but for the last, partial one.
    expect(pageWrites).toBe(Math.floor(bytes / 128));

    // The image arrived intact (the slot holds exactly what the host packed) ...
    expect(slotBytes(sim, r.slot as number, bytes)).toEqual(expected.payload);
    // ... and is installed: the sketch (115200 baud) boots, the flash holds the image, and the
    // boot record (read from the EEPROM: the new sketch does not speak stageboot) says so.
    sim.node.uart.baud = 115200;
    expect(serialUntil(sim, /big sketch: booted/, 8)).toMatch(/big sketch: booted/);
    expect(sim.node.flash.subarray(0, bytes)).toEqual(expected.payload);
    expect(bootRecord(sim)).toMatchObject({ state: BootState.IDLE, result: BootResult.INSTALLED, current: r.slot });
  });
});
