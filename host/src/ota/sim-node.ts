// A simulated stageboot node for the demo, the end-to-end tests and the bench: an ATmega328P
// with the real bootloader (bootloader/hex/) and a real sketch (sketch-lib/hex/), an I2C EEPROM,
// reachable as a `sim:NAME` port through the simulator's serialport binding.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIhex } from '../formats/ihex.ts';
import { extent } from '../formats/memory.ts';
import { Eeprom24, SimNode, type Eeprom24Model } from '../sim/index.ts';
import { SimBinding } from '../sim/link/binding.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const firmwarePaths = {
  bootloaderDir: join(repoRoot, 'bootloader/hex'),
  sketchDir: join(repoRoot, 'sketch-lib/hex'),
};

/** The bootloader's HEX: bootloader/hex/stageboot.hex, else the only .hex there. */
export function bootloaderHex(): string | undefined {
  const dir = firmwarePaths.bootloaderDir;
  if (!existsSync(dir)) return undefined;
  const preferred = join(dir, 'stageboot.hex');
  if (existsSync(preferred)) return preferred;
  const hexes = readdirSync(dir).filter((f) => f.endsWith('.hex'));
  return hexes.length === 1 ? join(dir, hexes[0]) : undefined;
}

export function sketchHex(name: string): string | undefined {
  const p = join(firmwarePaths.sketchDir, `${name}.hex`);
  return existsSync(p) ? p : undefined;
}

/** Why the real firmware cannot run yet, or null when it is all there. */
export function missingFirmware(sketches: string[] = ['BlinkV1', 'BlinkV2']): string | null {
  const missing: string[] = [];
  if (!bootloaderHex()) missing.push(`the bootloader (${firmwarePaths.bootloaderDir}/*.hex)`);
  for (const s of sketches) if (!sketchHex(s)) missing.push(`${s} (${firmwarePaths.sketchDir}/${s}.hex)`);
  return missing.length ? `firmware not built yet: ${missing.join(', ')}` : null;
}

/** High fuse with BOOTRST programmed and BOOTSZ chosen so the boot section starts at `start`. */
export function highFuseFor(start: number): number {
  const bootsz = { 0x7000: 0, 0x7800: 1, 0x7c00: 2, 0x7e00: 3 }[start];
  if (bootsz === undefined) throw new Error(`bootloader starts at 0x${start.toString(16)}: not a boot section start of the ATmega328P`);
  return 0xd8 | (bootsz << 1);
}

export interface SimNodeSetup {
  name?: string;
  app: string;
  eeprom?: Eeprom24Model;
  baud?: number;
  /** Reset on port open, like an Arduino's DTR auto-reset (default false: sessions do not reset). */
  dtrReset?: boolean;
  log?: (line: string) => void;
}

export interface RunningSimNode {
  node: SimNode;
  port: string;
  bootStart: number;
  stop(): void;
}

export function startSimNode(o: SimNodeSetup): RunningSimNode {
  const blPath = bootloaderHex();
  if (!blPath) throw new Error(missingFirmware([]) ?? 'no bootloader');
  const bl = parseIhex(readFileSync(blPath), blPath);
  const start = extent(bl.segments)?.start ?? 0x7000;
  const bootStartAddr = start & ~0x1ff;
  const node = new SimNode({
    fuses: { high: highFuseFor(bootStartAddr) },
    eeprom: new Eeprom24({ model: o.eeprom ?? '24LC256' }),
    baud: o.baud ?? 115200,
    log: o.log,
  });
  node.loadHex(readFileSync(blPath), blPath);
  node.loadHex(readFileSync(o.app), o.app);
  node.reset('power');
  const port = `sim:${o.name ?? 'node'}`;
  const unregister = SimBinding.register(port, node, { dtrReset: o.dtrReset ?? false });
  return { node, port, bootStart: bootStartAddr, stop: unregister };
}
