// OTA figures for `make bench`: goodput of a push into the simulated node (real bootloader,
// real sketch) beside min(wire rate, EEPROM page-write rate), and a full push + apply beside
// the sum of its limits. All times are simulated time on the node's clock.
//
// One figure needs no firmware: the host's window logic on the in-test model node over a
// paced virtual wire, beside the wire rate. It shows what the host alone can reach.
import { OtaClient } from '../../host/src/ota/client.ts';
import { imageFor, loadPushFile } from '../../host/src/ota/firmware.ts';
import { push } from '../../host/src/ota/push.ts';
import { missingFirmware, sketchHex, startSimNode } from '../../host/src/ota/sim-node.ts';
import { buildTestFirmware } from '../firmware/build.ts';
import { openPort } from '../../host/src/transport/open.ts';
import { rig, image } from '../ota/helpers.ts';
import type { Figure } from './figure.ts';
import type { Eeprom24Model } from '../../host/src/sim/index.ts';

export const title = 'OTA push over serial';

const I2C_HZ = 400_000;
const wireRate = (baud: number) => baud / 10;

/** Page writes bound the EEPROM: one page per write cycle plus the bus time to send it. */
function eepromRate(pageSize: number, tWC: number): number {
  const busSeconds = ((pageSize + 3) * 9) / I2C_HZ;
  return pageSize / (tWC + busSeconds);
}

/**
 * Goodput of one push: payload bytes over the DATA phase (BEGIN's reply to the last ack), in
 * simulated time. `node` is the sketch the node runs: it must be built for the EEPROM and baud
 * rate of the row (SerialNode and its -24LC512 / -24LC1025 / -250k builds).
 */
async function goodput(model: Eeprom24Model, baud: number, node: string, app: string): Promise<Figure> {
  const sim = startSimNode({ name: `bench-${model}-${baud}`, app: sketchHex(node)!, eeprom: model, baud });
  try {
    sim.node.runFor(1);
    const link = await openPort(sim.port, { baudRate: baud });
    const c = new OtaClient(link);
    try {
      const info = await c.info();
      const img = imageFor(await loadPushFile(app), info, {});
      // Trace of the EEPROM's write cycles during the push: how full each page write is and
      // how much of the transfer the chip spends writing (the figure's explanation).
      const ee24 = sim.node.eeprom!;
      let cycles = 0;
      let cycleBytes = 0;
      const off = ee24.onWriteCycle((ev) => { cycles++; cycleBytes += ev.bytes; });
      const r = await push(c, img, { force: true }).finally(off);
      const rate = (r.bytes - r.resumedFrom) / (r.transferMs / 1000);
      const busy = (cycles * ee24.writeCycleSeconds) / (r.transferMs / 1000);
      const ee = eepromRate(ee24.pageSize, ee24.writeCycleSeconds);
      const limit = Math.min(wireRate(baud), ee);
      const frameBytes = r.chunkSize + 8; // SOF, len, type, seq, chunk index, CRC-16
      return {
        id: `ota.goodput-${model.toLowerCase()}-${baud}`, what: `push goodput, ${model} at ${baud} baud (${node})`, value: rate, unit: 'B/s',
        anchor: { value: limit, label: limit === ee ? `${model} page-write rate` : `wire rate ${baud} 8N1` },
        target: { op: '>=', ratio: 0.9 },
        note: `${r.bytes} B, chunk ${r.chunkSize} (${frameBytes} B a frame: at most ${((100 * r.chunkSize) / frameBytes).toFixed(1)} % of the wire), window ${r.window}, ${r.resentChunks} resent, ${r.timeouts} timeouts; ` +
          `EEPROM: ${cycles} write cycles of ${(cycleBytes / Math.max(1, cycles)).toFixed(0)} B on average (pages of ${ee24.pageSize} B), writing ${(100 * busy).toFixed(0)} % of the time`,
      };
    } finally {
      c.close();
      await link.close();
    }
  } finally {
    sim.stop();
  }
}

async function fullPushAndApply(): Promise<Figure> {
  const app = buildTestFirmware().big;
  const sim = startSimNode({ name: 'bench-full', app: sketchHex('SerialNode')!, eeprom: '24LC256' });
  try {
    sim.node.runFor(1);
    const link = await openPort(sim.port, { baudRate: 115200 });
    const c = new OtaClient(link);
    let bytes = 0;
    const t0 = sim.node.seconds;
    try {
      const img = imageFor(await loadPushFile(app), await c.info(), {});
      bytes = img.payload.length;
      await push(c, img, { activate: 'now', force: true });
    } finally {
      c.close();
      await link.close();
    }
    // Apply: run until the bootloader has installed the image and the new application answers.
    const until = sim.node.seconds + 20;
    let applied = false;
    while (!applied && sim.node.seconds < until) {
      sim.node.runFor(0.05);
      applied = sim.node.flash.subarray(0, 64).some((b) => b !== 0xff) && !sim.node.halted && sim.node.pcByte < sim.bootStart;
    }
    if (!applied) throw new Error('the node did not leave the bootloader within 20 s after activation');
    const total = sim.node.seconds - t0;
    const ee = eepromRate(sim.node.eeprom!.pageSize, sim.node.eeprom!.writeCycleSeconds);
    const transfer = bytes / Math.min(wireRate(115200), ee);
    const readBack = (bytes * 9) / I2C_HZ; // END: CRC-32 of the slot read over I2C
    const pages = Math.ceil(bytes / 128);
    const flash = pages * 2 * sim.node.flashBusySeconds; // erase + write per page
    const limit = transfer + readBack + 2 * readBack + flash; // bootloader: CRC check before, copy reads after
    return {
      id: 'ota.full-push-apply', what: `full push + apply of ${bytes} B (24LC256, 115200)`, value: total, unit: 's', ratio: 'anchor/value',
      anchor: { value: limit, label: 'sum of limits: wire/EEPROM + I2C read-backs + flash erase/write' },
      note: `transfer ${transfer.toFixed(2)} s, reads ${(3 * readBack).toFixed(2)} s, flash ${flash.toFixed(2)} s at their limits`,
    };
  } finally {
    sim.stop();
  }
}

async function hostOnly(): Promise<Figure> {
  const r = rig({ baud: 115200, node: { window: 4, maxChunk: 128 } });
  const img = image(31 * 1024);
  const res = await r.clock.run(push(r.client, img));
  const rate = img.payload.length / (res.transferMs / 1000);
  return {
    id: 'ota.host-window-model', what: 'host window logic, model node with no write time, 115200', value: rate, unit: 'B/s',
    anchor: { value: wireRate(115200), label: 'wire rate 115200 8N1' },
    note: 'in-test model node on a virtual wire; frame overhead 8 B per 128 B chunk and ack traffic included',
  };
}

export async function figures(): Promise<Figure[]> {
  const out: Figure[] = [await hostOnly()];
  const nodes = ['SerialNode', 'SerialNode-24LC512', 'SerialNode-24LC1025', 'SerialNode-250k'];
  const missing = missingFirmware(nodes);
  if (missing) {
    const host = out[0];
    throw new Error(`${missing}: push goodput and push + apply need the real firmware on the simulated node (meanwhile: ${host.what} = ${Math.round(host.value)} B/s, ${((100 * host.value) / host.anchor!.value).toFixed(1)} % of the wire rate)`);
  }
  // The 29 KiB test sketch: a long transfer, so start-up costs weigh little.
  const app = buildTestFirmware().big;
  out.push(await goodput('24LC256', 115200, 'SerialNode', app));
  out.push(await goodput('24LC512', 115200, 'SerialNode-24LC512', app));
  out.push(await goodput('24LC1025', 115200, 'SerialNode-24LC1025', app));
  out.push(await goodput('24LC256', 250000, 'SerialNode-250k', app));
  out.push(await fullPushAndApply());
  return out;
}
