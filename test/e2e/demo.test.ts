// issue 5, "The main job": `stageboot demo` updates a simulated node from BlinkV1 to BlinkV2 and
// shows v2 booting. Run in-process through the CLI's own entry point, flat out (--speed 0).
import { describe, expect, it } from 'vitest';
import { cli, firmwareMissing } from './ota-helpers.ts';

describe.skipIf(firmwareMissing)(`stageboot demo${firmwareMissing ? ` (skipped: ${firmwareMissing})` : ''}`, () => {
  it('pushes BlinkV2 to a simulated BlinkV1 node, activates it, and v2 boots', async () => {
    const r = await cli('demo', '--speed', '0', '--seconds', '1.5');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/node \| BlinkV1 1\.0\.0/);
    expect(r.out).toMatch(/node \| BlinkV2 2\.0\.0/);
    expect(r.out.indexOf('BlinkV2 2.0.0')).toBeGreaterThan(r.out.indexOf('activated'));
    expect(r.out).toMatch(/LED on D13 blinking at 4\.0 Hz/);
    expect(r.out).not.toMatch(/node \|[^\n]*~/); // no protocol frames in the node's lines
  });

  it('reports the same as one JSON document with --json', async () => {
    const r = await cli('demo', '--speed', '0', '--seconds', '1.5', '--json');
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ ok: true, appCrcMatches: true });
    expect(j.serial).toMatch(/BlinkV1 1\.0\.0\n[^]*BlinkV2 2\.0\.0/);
    expect(j.ledHz).toBeCloseTo(4, 1);
  });
});
