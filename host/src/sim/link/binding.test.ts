// The serialport binding drives a simulated node in-process: what a user of SerialPortStream
// would check is that the firmware's output arrives, that requests get answers, and that DTR
// resets the board as an Arduino's auto-reset does.
import { SerialPortStream } from '@serialport/stream';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestFirmware, type TestFirmware } from '../../../../test/firmware/build.ts';
import { SimNode } from '../node.ts';
import { SimBinding } from './binding.ts';

let fw: TestFirmware;
beforeAll(() => {
  fw = buildTestFirmware();
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function openPort(node: SimNode, path: string, baudRate = 115200) {
  cleanups.push(SimBinding.register(path, node));
  const port = new SerialPortStream({ binding: SimBinding, path, baudRate });
  cleanups.push(() => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())));
  return port;
}

/** Collects what the port receives until `pattern` shows up. */
function waitFor(port: SerialPortStream, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) {
        port.off('data', onData);
        clearTimeout(timer);
        resolve(text);
      }
    };
    const timer = setTimeout(() => {
      port.off('data', onData);
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    port.on('data', onData);
  });
}

function bigSketchNode(): SimNode {
  // BOOTRST unprogrammed: no bootloader, the sketch starts at 0 as on a board flashed by ISP.
  const node = new SimNode({ fuses: { high: 0xdf } });
  node.loadHex(readFileSync(fw.big, 'utf8'));
  return node;
}

describe('SimBinding', () => {
  it('lists registered nodes and refuses unknown paths', async () => {
    cleanups.push(SimBinding.register('sim:list', new SimNode()));
    expect((await SimBinding.list()).map((p) => p.path)).toContain('sim:list');
    await expect(SimBinding.open({ path: 'sim:nope', baudRate: 115200 })).rejects.toThrow(/no simulated node/);
  });

  it('carries the sketch output to a SerialPortStream', async () => {
    const node = bigSketchNode();
    const port = openPort(node, 'sim:big');
    const text = await waitFor(port, /uptime ms 2000/);
    expect(text).toContain('big sketch: booted');
    expect(text).toContain('i2c: 0x50'); // the board's 24LC256 answers the sketch's bus scan
    expect(node.seconds).toBeGreaterThanOrEqual(2); // the sketch's millis() follows the node's clock
    // How fast the clock runs is a figure for make bench (sim-speed), not something to time here.
  });

  it('gets answers from Optiboot: sync and the signature', async () => {
    const node = new SimNode();
    node.loadHex(readFileSync(fw.optiboot, 'utf8'));
    const port = openPort(node, 'sim:optiboot');
    await new Promise((r) => port.once('open', r));
    port.write(Buffer.from([0x30, 0x20])); // STK_GET_SYNC, CRC_EOP
    expect(await waitFor(port, /\x14\x10/)).toBe('\x14\x10');
    port.write(Buffer.from([0x75, 0x20])); // STK_READ_SIGN
    expect(Buffer.from(await waitFor(port, /\x10$/), 'latin1')).toEqual(Buffer.from([0x14, 0x1e, 0x95, 0x0f, 0x10]));
  });

  it('resets the node on open and when DTR is asserted again, like an auto-reset Uno', async () => {
    const node = bigSketchNode();
    const port = openPort(node, 'sim:dtr');
    await waitFor(port, /big sketch: ready/);
    const before = node.resets.filter((r) => r.cause === 'external').length;
    expect(before).toBe(1); // the open
    await new Promise<void>((r, j) => port.set({ dtr: false }, (e) => (e ? j(e) : r())));
    await new Promise<void>((r, j) => port.set({ dtr: true }, (e) => (e ? j(e) : r())));
    await waitFor(port, /big sketch: booted/);
    expect(node.resets.filter((r) => r.cause === 'external').length).toBe(2);
    expect(node.mcusr & 0x02).toBe(0x02); // EXTRF
  });

  it('garbles bytes when the host baud rate does not match the firmware', async () => {
    const node = bigSketchNode();
    const port = openPort(node, 'sim:baud', 57600);
    const text = await new Promise<string>((resolve) => {
      let t = '';
      port.on('data', (c: Buffer) => (t += c.toString('latin1')));
      const off = setInterval(() => {
        if (node.seconds > 1.2) {
          clearInterval(off);
          resolve(t);
        }
      }, 5);
    });
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain('big sketch');
  });
});
