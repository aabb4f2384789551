// Test helpers for the bootloader: build it and the banner test applications, lay out an EEPROM
// with a staged image, and run a simulated node with the real bootloader hex.
import { fusesForBootloader, STAGEBOOT_LOCK, type Fuses } from '../../host/src/sim/chip/fuses.ts';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_DIR, REPO_ROOT, withBuildLock } from '../../host/src/sim/build-cache.ts';
import { SimNode, Eeprom24, type Eeprom24Model } from '../../host/src/sim/index.ts';
import { parseIhex } from '../../host/src/formats/ihex.ts';
import {
  BootState, SlotState, chips, encodeRecord, encodeSuperblock, makeHeader, planLayout, recordAddrs,
  type BootRecord, type ImageHeader, type Superblock,
} from '../../protocol/ts/index.ts';

export const ROOT = REPO_ROOT;
const OUT = join(BUILD_DIR, 'test-firmware');
export const SIG_328P = Uint8Array.of(0x1e, 0x95, 0x0f);
export type Mhz = 16 | 8;

let built = false;
/**
 * Builds the bootloader (both clocks) and the banner applications, once per process; under the
 * build lock, as test files in other workers run the same make into the same folders.
 */
export function buildAll(): void {
  if (built) return;
  withBuildLock(() => {
    execFileSync('make', ['-s', '-C', join(ROOT, 'bootloader'), `OUT=${join(OUT, 'bootloader')}`, 'all'], { stdio: 'pipe' });
    execFileSync('make', ['-s', '-C', join(ROOT, 'test/firmware/apps'), `OUT=${join(OUT, 'apps')}`], { stdio: 'pipe' });
  });
  built = true;
}

export function bootloaderHex(mhz: Mhz): string {
  buildAll();
  return readFileSync(join(OUT, 'bootloader', `stageboot_atmega328p_${mhz}mhz.hex`), 'latin1');
}

/** The application's flash bytes from address 0 (a test app is one contiguous segment). */
export function appImage(name: string, mhz: Mhz): Uint8Array {
  buildAll();
  return flashFromZero(readFileSync(join(OUT, 'apps', `banner_${name}_${mhz}mhz.hex`), 'latin1'));
}

/** An application hex's bytes from address 0 up to its end, gaps erased (0xFF). */
export function flashFromZero(hex: string): Uint8Array {
  const { segments } = parseIhex(hex);
  const out = new Uint8Array(Math.max(...segments.map((s) => s.address + s.data.length))).fill(0xff);
  for (const s of segments) out.set(s.data, s.address);
  return out;
}

/** Fuses of the build: BOOTRST programmed, boot section where the bootloader starts, stageboot's lock. */
export function bootFuses(hex: string): Fuses {
  return fusesForBootloader(Math.min(...parseIhex(hex).segments.map((s) => s.address)), STAGEBOOT_LOCK);
}

export interface Layout {
  sb: Superblock;
  pitch: number;
}

export function format(e: Eeprom24, model: Eeprom24Model): Layout {
  const sb = planLayout(chips[model]!);
  e.memory.fill(0xff);
  e.memory.set(encodeSuperblock(sb), 0);
  return { sb, pitch: sb.recPitch };
}

export function bootRecord(r: Partial<BootRecord>): BootRecord {
  return {
    seq: 1, state: BootState.IDLE, flags: 0, slot: 0xff, current: 0xff, backup: 0xff, result: 0, attempts: 0,
    reserved: new Uint8Array(3), crc: 0, ...r,
  } as BootRecord;
}

/** Writes a boot record into copy `which` (0 = A, 1 = B). */
export function writeBoot(e: Eeprom24, l: Layout, r: Partial<BootRecord>, which: 0 | 1 = 0): void {
  e.memory.set(encodeRecord('BootRecord', bootRecord(r)), recordAddrs(l.pitch, 'boot')[which]);
}

export function readBoot(e: Eeprom24, l: Layout): { a: Uint8Array; b: Uint8Array } {
  const [a, b] = recordAddrs(l.pitch, 'boot');
  return { a: e.memory.slice(a, a + 16), b: e.memory.slice(b, b + 16) };
}

/** Stages `payload` in slot `slot` (record copy A), optionally with a doctored header. */
export function stage(e: Eeprom24, l: Layout, slot: number, payload: Uint8Array,
  opts: { header?: Partial<ImageHeader>; state?: number; seq?: number; data?: Uint8Array; appVersion?: number } = {}): ImageHeader {
  const header = { ...makeHeader(payload, { signature: SIG_328P, appVersion: opts.appVersion ?? 0 }), ...opts.header };
  const dataAddr = l.sb.dataStart + slot * l.sb.slotSize;
  const rec = {
    seq: opts.seq ?? 1, state: opts.state ?? SlotState.STAGED, reserved: 0, dataAddr, capacity: l.sb.slotSize,
    progress: payload.length, header, crc: 0,
  };
  e.memory.set(encodeRecord('SlotRecord', rec as never), recordAddrs(l.pitch, slot)[0]);
  e.memory.set(opts.data ?? payload, dataAddr);
  return header;
}

export interface NodeOpts {
  mhz?: Mhz;
  model?: Eeprom24Model;
  app?: Uint8Array;
  seed?: number;
}

/** A powered-off node with the bootloader, an application and a formatted EEPROM. */
export function makeNode(o: NodeOpts = {}) {
  const mhz = o.mhz ?? 16;
  const hex = bootloaderHex(mhz);
  const model = o.model ?? '24LC256';
  const eeprom = new Eeprom24({ model });
  const node = new SimNode({
    clockHz: mhz * 1e6, baud: mhz === 16 ? 115200 : 57600, fuses: bootFuses(hex), eeprom, seed: o.seed, powered: false,
  });
  node.loadHex(hex);
  if (o.app) node.loadFlash(o.app, 0);
  const layout = format(eeprom, model);
  let text = '';
  node.uart.onData((b) => (text += Buffer.from(b).toString('latin1')));
  return {
    node, eeprom, layout, mhz,
    /** Everything the node sent since the last call. */
    take(): string {
      const t = text;
      text = '';
      return t;
    },
  };
}

/** Runs until the node prints "APP <n>" (returns n) or the time runs out (returns null). */
export function runUntilApp(node: SimNode, take: () => string, seconds: number): number | null {
  let seen = '';
  let version: number | null = null;
  node.runUntil(() => {
    seen += take();
    const m = /APP (\d+)\n/.exec(seen);
    if (m) version = Number(m[1]);
    return version !== null;
  }, seconds * node.clockHz, 4096);
  return version;
}

/** Runs until the node's output matches `re` (true) or the time runs out (false). */
export function runUntilText(node: SimNode, take: () => string, re: RegExp, seconds: number): boolean {
  let seen = '';
  return node.runUntil(() => {
    seen += take();
    return re.test(seen);
  }, seconds * node.clockHz, 4096);
}
