// Builds small C test programs with avr-gcc for the simulator's tests, cached under
// build/test-firmware/ by a hash of the sources and flags (build/ is not committed).
// Also reads the ELF symbol table, so a test can find a firmware variable's SRAM address.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SIM_FIRMWARE_DIR = join(REPO_ROOT, 'test/firmware/sim');
const CACHE_DIR = join(REPO_ROOT, 'build/test-firmware');

export interface BuildOptions {
  /** Clock the code is compiled for (F_CPU); default 16 MHz. */
  fcpu?: number;
  /** Byte address of .text, e.g. 0x7000 for code in a 2 KiB boot section. */
  textStart?: number;
  /** Extra -D defines. */
  defines?: Record<string, string | number>;
  cflags?: string[];
}

export interface BuiltFirmware {
  name: string;
  hexPath: string;
  elfPath: string;
  hex: string;
  /** SRAM (data) address of a global, from the ELF symbol table. */
  symbol(name: string): number;
}

/** Compile sources (paths relative to test/firmware/sim unless absolute). */
export function buildFirmware(sources: string | string[], opts: BuildOptions = {}): BuiltFirmware {
  const files = (Array.isArray(sources) ? sources : [sources]).map((s) => resolve(SIM_FIRMWARE_DIR, s));
  const args = [
    '-mmcu=atmega328p',
    '-Os',
    '-std=gnu99',
    '-Wall',
    `-DF_CPU=${opts.fcpu ?? 16_000_000}UL`,
    `-I${SIM_FIRMWARE_DIR}`,
    ...Object.entries(opts.defines ?? {}).map(([k, v]) => `-D${k}=${v}`),
    ...(opts.textStart !== undefined ? [`-Wl,--section-start=.text=0x${opts.textStart.toString(16)}`] : []),
    ...(opts.cflags ?? []),
  ];
  const hash = createHash('sha256');
  hash.update(args.join('\0'));
  for (const f of files) hash.update(readFileSync(f));
  for (const h of ['sim-test.h']) {
    const p = join(SIM_FIRMWARE_DIR, h);
    if (existsSync(p)) hash.update(readFileSync(p));
  }
  const name = basename(files[0], '.c');
  const stem = join(CACHE_DIR, `${name}-${hash.digest('hex').slice(0, 16)}`);
  const elfPath = `${stem}.elf`;
  const hexPath = `${stem}.hex`;
  if (!existsSync(hexPath)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    // Build under temporary names and rename, so parallel test files never see half a file.
    const tmp = `${stem}.${process.pid}`;
    execFileSync('avr-gcc', [...args, '-o', `${tmp}.elf`, ...files], { stdio: 'pipe' });
    execFileSync('avr-objcopy', ['-O', 'ihex', '-R', '.eeprom', `${tmp}.elf`, `${tmp}.hex`], { stdio: 'pipe' });
    renameSync(`${tmp}.elf`, elfPath);
    renameSync(`${tmp}.hex`, hexPath);
  }
  let symbols: Map<string, number> | undefined;
  return {
    name,
    hexPath,
    elfPath,
    hex: readFileSync(hexPath, 'utf8'),
    symbol(sym: string): number {
      symbols ??= readSymbols(elfPath);
      const addr = symbols.get(sym);
      if (addr === undefined) throw new Error(`${name}: no symbol ${sym}`);
      return addr;
    },
  };
}

/**
 * Build an Arduino sketch folder (test/firmware/sim/NAME/NAME.ino unless absolute) with the
 * real Arduino core through mk/arduino.mk, cached like buildFirmware.
 */
export function buildSketch(folder: string, libs: string[] = [], fcpu = 16_000_000): BuiltFirmware {
  const dir = resolve(SIM_FIRMWARE_DIR, folder);
  const name = basename(dir);
  const hash = createHash('sha256');
  hash.update(`${libs.join(' ')}\0${fcpu}`);
  hash.update(readFileSync(join(dir, `${name}.ino`)));
  const build = join(CACHE_DIR, `${name}-${hash.digest('hex').slice(0, 16)}`);
  const hexPath = join(build, `${name}.hex`);
  const elfPath = join(build, `${name}.elf`);
  if (!existsSync(hexPath)) {
    execFileSync(
      'make',
      ['-s', '-f', 'mk/arduino.mk', `SKETCH=${dir}`, `BUILD=${build}`, `F_CPU=${fcpu}L`, `LIBS=${libs.join(' ')}`],
      { cwd: REPO_ROOT, stdio: 'pipe' },
    );
  }
  let symbols: Map<string, number> | undefined;
  return {
    name,
    hexPath,
    elfPath,
    hex: readFileSync(hexPath, 'utf8'),
    symbol(sym: string): number {
      symbols ??= readSymbols(elfPath);
      const addr = symbols.get(sym);
      if (addr === undefined) throw new Error(`${name}: no symbol ${sym}`);
      return addr;
    },
  };
}

function readSymbols(elf: string): Map<string, number> {
  const out = execFileSync('avr-nm', [elf], { encoding: 'utf8' });
  const map = new Map<string, number>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) \w (\S+)$/.exec(line.trim());
    if (m) map.set(m[2], parseInt(m[1], 16) & 0xffff);
  }
  return map;
}
