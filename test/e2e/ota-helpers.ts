// Shared pieces of the OTA end-to-end tests: a simulated ATmega328P with the real bootloader
// and a real example sketch, the CLI run in-process against it, and ways to look inside.
import { decodeRecord, decodeSuperblock, layouts, pickRecord, recordAddrs, slotDataAddr, type BootRecord, type Superblock } from '../../protocol/ts/index.ts';
import { OtaClient } from '../../host/src/ota/client.ts';
import { missingFirmware, sketchHex, startSimNode, type RunningSimNode, type SimNodeSetup } from '../../host/src/ota/sim-node.ts';
import { openPort } from '../../host/src/transport/open.ts';
import type { ByteLink } from '../../host/src/transport/link.ts';

/** Null when the real firmware is built; otherwise why the e2e tests cannot run. */
export const firmwareMissing = missingFirmware(['BlinkV1', 'BlinkV2', 'BlinkV1-24LC512', 'BlinkV2-24LC512']);

export const hex = (name: string) => sketchHex(name)!;

/**
 * BlinkV1 or BlinkV2 built for the node's EEPROM: the library lays the EEPROM out for the chip
 * it was built for, so a 24LC512 node (two slots: room for a trial's backup) needs the
 * 24LC512 build.
 */
export function blink(version: 1 | 2, chip: SimNodeSetup['eeprom'] = '24LC256'): string {
  return hex(chip === '24LC256' ? `BlinkV${version}` : `BlinkV${version}-${chip}`);
}

let n = 0;
export function node(o: Partial<SimNodeSetup> = {}): RunningSimNode {
  return startSimNode({ name: `e2e-${process.pid}-${n++}`, app: blink(1, o.eeprom), ...o });
}

/** Runs the CLI in-process, capturing its output. */
export { runCli as cli } from '../cli/run.ts';

/** Opens the node's port as the CLI does, runs `fn` with a client, closes. */
export async function withNode<R>(port: string, fn: (c: OtaClient, link: ByteLink) => Promise<R>, wrap: (l: ByteLink) => ByteLink = (l) => l, baudRate = 115200): Promise<R> {
  const raw = await openPort(port, { baudRate });
  const link = wrap(raw);
  const c = new OtaClient(link);
  try {
    return await fn(c, link);
  } finally {
    c.close();
    await link.close();
  }
}

/** Everything the node printed on its serial line while `sim` ran for `seconds` of simulated time. */
export function serialText(sim: RunningSimNode, seconds: number): string {
  let text = '';
  const off = sim.node.uart.onData((b) => { text += Buffer.from(b).toString('latin1'); });
  sim.node.runFor(seconds);
  off();
  return text;
}

/**
 * What the node prints until `re` matches or `maxSeconds` of simulated time pass: waits for a
 * banner without simulating the rest of a fixed stretch.
 */
export function serialUntil(sim: RunningSimNode, re: RegExp, maxSeconds: number): string {
  let text = '';
  const off = sim.node.uart.onData((b) => { text += Buffer.from(b).toString('latin1'); });
  sim.node.runUntil(() => re.test(text), Math.round(maxSeconds * sim.node.clockHz), 16_000);
  off();
  return text;
}

export function superblock(sim: RunningSimNode): Superblock {
  const sb = decodeSuperblock(sim.node.eeprom!.memory.subarray(0, 64));
  if (!sb) throw new Error('the EEPROM is not formatted');
  return sb;
}

/** The newest valid boot record in the EEPROM, as the bootloader reads it (null if none). */
export function bootRecord(sim: RunningSimNode): BootRecord | null {
  const mem = sim.node.eeprom!.memory;
  const size = layouts.BootRecord.size;
  const [a, b] = recordAddrs(superblock(sim).recPitch, 'boot').map((at) => decodeRecord('BootRecord', mem.subarray(at, at + size)));
  return pickRecord(a, b).record;
}

export function slotBytes(sim: RunningSimNode, slot: number, length: number): Uint8Array {
  const sb = superblock(sim);
  const at = slotDataAddr(sb, slot);
  return sim.node.eeprom!.memory.slice(at, at + length);
}

export const V1 = /v1|V1/;
export const V2 = /v2|V2/;
