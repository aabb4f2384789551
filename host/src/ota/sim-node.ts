// A simulated stageboot node for the demo, the end-to-end tests and the bench: an ATmega328P
// with the real bootloader (bootloader/hex/) and a real sketch (sketch-lib/hex/), an I2C EEPROM,
// reachable as a `sim:NAME` port through the simulator's serialport binding.
import { fusesForBootloader, STAGEBOOT_LOCK } from '../sim/chip/fuses.ts';
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

/**
 * The bootloader's HEX for a clock: bootloader/hex/stageboot_atmega328p_16mhz.hex (or _8mhz).
 * The folder holds one build per clock, so the clock has to be named, never guessed.
 */
export function bootloaderHex(mhz: 16 | 8 = 16): string | undefined {
  const p = join(firmwarePaths.bootloaderDir, `stageboot_atmega328p_${mhz}mhz.hex`);
  return existsSync(p) ? p : undefined;
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

export interface SimNodeSetup {
  name?: string;
  app: string;
  eeprom?: Eeprom24Model;
  baud?: number;
  /** Reset on port open, like an Arduino's DTR auto-reset (default false: sessions do not reset). */
  dtrReset?: boolean;
  /** Simulated seconds per wall-clock second while the port is open (default: as fast as possible). */
  speed?: number;
  log?: (line: string) => void;
  /** Seed of the node's PRNG: which bytes of a torn EEPROM write land, SRAM noise at power-on. */
  seed?: number;
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
  const lowest = extent(bl.segments)?.start;
  if (lowest === undefined) throw new Error(`${blPath}: empty`);
  // The boot section comes from the hex itself (0x7C00 for the 1 KiB build), so a bootloader
  // built for another section boots without edits; the lock bits let the sketch read the
  // version word.
  const fuses = fusesForBootloader(lowest, STAGEBOOT_LOCK);
  const bootStartAddr = lowest;
  const node = new SimNode({
    clockHz: 16e6,
    fuses,
    eeprom: new Eeprom24({ model: o.eeprom ?? '24LC256' }),
    baud: o.baud ?? 115200,
    log: o.log,
    seed: o.seed,
  });
  node.loadHex(readFileSync(blPath), blPath);
  node.loadHex(readFileSync(o.app), o.app);
  node.reset('power');
  const port = `sim:${o.name ?? 'node'}`;
  const unregister = SimBinding.register(port, node, { dtrReset: o.dtrReset ?? false, speed: o.speed });
  return { node, port, bootStart: bootStartAddr, stop: unregister };
}
