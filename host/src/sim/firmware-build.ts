// Builds test programs for the simulator's tests, cached under build/test-firmware/ by a hash
// of the sources and flags (build-cache.ts): small C programs with avr-gcc, and Arduino sketches
// with the real Arduino core through mk/arduino.mk. Also reads the ELF symbol table, so a test
// can find a firmware variable's SRAM address.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { REPO_ROOT, buildKey, cachedBuild } from './build-cache.ts';

export { REPO_ROOT };
export const SIM_FIRMWARE_DIR = join(REPO_ROOT, 'test/firmware/sim');
const AREA = 'test-firmware';

export interface BuildOptions {
  /** Clock the code is compiled for (F_CPU); default 16 MHz. */
  fcpu?: number;
  /** Byte address of .text, e.g. 0x7000 for code in the 4 KiB (2048-word) boot section. */
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
  const header = join(SIM_FIRMWARE_DIR, 'sim-test.h');
  const name = basename(files[0], '.c');
  const dir = cachedBuild(AREA, name, buildKey(args, [...files, ...(existsSync(header) ? [header] : [])]), (tmp) => {
    execFileSync('avr-gcc', [...args, '-o', join(tmp, `${name}.elf`), ...files], { stdio: 'pipe' });
    execFileSync('avr-objcopy', ['-O', 'ihex', '-R', '.eeprom', join(tmp, `${name}.elf`), join(tmp, `${name}.hex`)], { stdio: 'pipe' });
  });
  return built(dir, name);
}

/**
 * Build an Arduino sketch folder (test/firmware/sim/NAME/NAME.ino unless absolute) with the
 * real Arduino core through mk/arduino.mk, cached like buildFirmware. `libs` are mk/arduino.mk's
 * LIBS words: a bundled library's name, or a library folder (relative to the repository).
 */
export function buildSketch(folder: string, libs: string[] = [], fcpu = 16_000_000): BuiltFirmware {
  const dir = resolve(SIM_FIRMWARE_DIR, folder);
  const name = basename(dir);
  // The key covers every file of the sketch folder and of each library folder, and the makefile;
  // bundled libraries and the core belong to the installed arduino-core-avr package.
  const libDirs = libs.filter((l) => l.includes('/')).map((l) => resolve(REPO_ROOT, l));
  const key = buildKey([libs, fcpu], [dir, join(REPO_ROOT, 'mk/arduino.mk'), ...libDirs]);
  const out = cachedBuild(AREA, name, key, (tmp) => {
    execFileSync(
      'make',
      ['-s', '-f', 'mk/arduino.mk', `SKETCH=${dir}`, `BUILD=${tmp}`, `F_CPU=${fcpu}L`, `LIBS=${libs.join(' ')}`],
      { cwd: REPO_ROOT, stdio: 'pipe' },
    );
  });
  return built(out, name);
}

function built(dir: string, name: string): BuiltFirmware {
  const elfPath = join(dir, `${name}.elf`);
  let symbols: Map<string, number> | undefined;
  return {
    name,
    hexPath: join(dir, `${name}.hex`),
    elfPath,
    hex: readFileSync(join(dir, `${name}.hex`), 'utf8'),
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
