// issue 5, "Done when": the whole update path again through a pty, with the CLI's real
// serialport binding (node-serialport's own, as for a USB adapter), paced to real time.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PtyLink } from '../../host/src/sim/link/pty.ts';
import type { RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { V2, cli, firmwareMissing, hex, node } from './ota-helpers.ts';

let sim: RunningSimNode | null = null;
let pty: PtyLink | null = null;
afterEach(async () => { await pty?.close(); sim?.stop(); pty = null; sim = null; });

const why = firmwareMissing ?? (existsSync('/usr/bin/socat') ? null : 'socat is not installed');

describe.skipIf(why)(`OTA update through a pty${why ? ` (skipped: ${why})` : ''}`, () => {
  it('pushes v2 and activates it through a pseudo-terminal', async () => {
    sim = node();
    let serial = '';
    const path = join(mkdtempSync(join(tmpdir(), 'stageboot-e2e-')), 'tty');
    // Paced to the wall clock, as for any program on the far side of a pty.
    pty = await PtyLink.open(sim.node, { path, speed: 1, onSerial: (b) => { serial += Buffer.from(b).toString('latin1'); } });
    const r = await cli('push', hex('BlinkV2'), '--port', path, '--activate', 'now', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, activated: 'now' });
    const t0 = Date.now();
    while (!V2.test(serial) && Date.now() - t0 < 15_000) await new Promise((res) => setTimeout(res, 100));
    expect(serial).toMatch(V2);
  });
});
