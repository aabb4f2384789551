// The background runner: a paced node stays behind the wall clock, and bytes from the host
// enter the node at the simulated time they arrive (not when the last slice happened to end).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestFirmware, type TestFirmware } from '../../../../test/firmware/build.ts';
import { SimNode } from '../node.ts';
import { SimRunner } from './runner.ts';

let fw: TestFirmware;
beforeAll(() => {
  fw = buildTestFirmware();
});

const SYNC = Uint8Array.from([0x30, 0x20]); // STK_GET_SYNC, CRC_EOP

/** Optiboot, just reset by the RESET pin (after a power-on reset it starts the app at once). */
function optibootNode(): SimNode {
  const node = new SimNode();
  node.loadHex(readFileSync(fw.optiboot, 'utf8'));
  node.reset('external');
  return node;
}

describe('SimRunner', () => {
  it('never lets a paced node run ahead of the wall clock', async () => {
    const node = optibootNode();
    const runner = new SimRunner(node, { speed: 0.5 });
    const t0 = performance.now();
    runner.start();
    await new Promise((r) => setTimeout(r, 200));
    const wall = (performance.now() - t0) / 1000;
    runner.stop();
    expect(node.seconds).toBeGreaterThan(0);
    expect(node.seconds).toBeLessThanOrEqual(wall * 0.5 + 0.002);
  });

  it('starts host bytes at the simulated time of their arrival, then at the wire rate', () => {
    const node = optibootNode();
    node.runFor(0.01); // Optiboot is waiting for the host
    const wall = { now: 0 };
    const runner = new SimRunner(node, { speed: 1, nowMs: () => wall.now });
    runner.start(); // 0 ms wall = 10 ms simulated
    const replies: number[] = [];
    node.uart.onData(() => replies.push(node.seconds));

    wall.now = 7; // the host's bytes arrive 7 ms later, before any slice has run
    let deliveredAt = 0;
    runner.hostInput(() => {
      deliveredAt = node.seconds;
      node.uart.write(SYNC);
    });
    runner.stop();
    expect(deliveredAt).toBeGreaterThanOrEqual(0.017);
    expect(deliveredAt).toBeLessThan(0.017 + 5 / node.clockHz);

    node.runFor(0.002);
    expect(replies).toHaveLength(2); // STK_INSYNC, STK_OK
    // Two frames in at 115200, the reply's first frame out at Optiboot's 117,647 baud.
    expect(replies[0]! - deliveredAt).toBeGreaterThan(20 / 115200 + 10 / 117647);
  });

  it('leaves an unpaced (speed Infinity) node where it is when host bytes arrive', () => {
    const node = optibootNode();
    node.runFor(0.01);
    const runner = new SimRunner(node);
    runner.start();
    let deliveredAt = 0;
    runner.hostInput(() => (deliveredAt = node.seconds));
    runner.stop();
    expect(deliveredAt).toBe(node.seconds);
  });
});
