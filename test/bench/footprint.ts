// Firmware size against its budget, from avr-size: the bootloader (1 KiB boot section, issue 4)
// and what the runtime library adds to the SerialNode example (3 KiB flash, 256 B SRAM,
// issue 5). The builds' own Makefiles print the same figures and fail when over budget; here
// they are measured whatever the outcome, so the table shows how far off a budget is.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BL_SECTION_BYTES } from '../../protocol/ts/index.ts';
import type { Figure } from './figure.ts';

export const title = 'Firmware size (avr-size)';

const ROOT = join(import.meta.dirname, '..', '..');

/** Flash bytes of an ELF: every allocated section that lands in flash (.text, .data, .version...). */
function flashBytes(elf: string): number {
  const out = execFileSync('avr-size', ['-A', elf], { encoding: 'utf8' });
  let total = 0;
  for (const line of out.split('\n')) {
    const m = /^\.(text|data|version|vectors)\S*\s+(\d+)/.exec(line.trim());
    if (m) total += Number(m[2]);
  }
  return total;
}

function bootloader(): Figure[] {
  const out = mkdtempSync(join(tmpdir(), 'stageboot-bl-'));
  execFileSync('make', ['-s', '-C', join(ROOT, 'bootloader'), `OUT=${out}`, 'all'], { stdio: 'pipe' });
  return [16, 8].map((mhz) => ({
    id: `footprint.bootloader.${mhz}mhz`,
    what: `bootloader flash, ${mhz} MHz build (code + version word)`,
    value: flashBytes(join(out, `stageboot_atmega328p_${mhz}mhz.elf`)),
    unit: 'B',
    anchor: { value: BL_SECTION_BYTES, label: '512-word boot section' },
    target: { op: '<=', ratio: 1 },
    note: 'Optiboot 472 B (no CRC); DualOptiboot 966 B; I2C-EEPROM forks and MYSBootloader 1.5-2 KiB',
  }));
}

function library(): Figure[] {
  // `make footprint` exits non-zero while over budget: read its figures either way.
  const r = spawnSync('make', ['-s', '-C', join(ROOT, 'sketch-lib'), 'footprint'], { encoding: 'utf8' });
  const text = `${r.stdout}\n${r.stderr}`;
  const flash = /library adds (\d+) B of flash \(limit (\d+)\)/.exec(text);
  const ram = /library adds (\d+) B of RAM \(limit (\d+)\)/.exec(text);
  if (!flash || !ram) throw new Error(`sketch-lib footprint printed no figures:\n${text}`);
  return [
    { id: 'footprint.lib.flash', what: 'flash the runtime library adds to SerialNode', value: Number(flash[1]), unit: 'B', anchor: { value: Number(flash[2]), label: 'budget' }, target: { op: '<=', ratio: 1 } },
    { id: 'footprint.lib.ram', what: 'SRAM the runtime library adds to SerialNode', value: Number(ram[1]), unit: 'B', anchor: { value: Number(ram[2]), label: 'budget' }, target: { op: '<=', ratio: 1 } },
  ];
}

export async function figures(): Promise<Figure[]> {
  return [...bootloader(), ...library()];
}
