// The Arduino IDE package (bootloader/arduino/boards.txt + the committed hex): every board's
// fuses, size limit, clock and baud must agree with the bootloader it burns, or the IDE would
// burn a bootloader that the fuses never start, or upload sketches that overwrite it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIhex } from '../../host/src/formats/ihex.ts';
import { extent } from '../../host/src/formats/memory.ts';
import { fusesForBootloader, STAGEBOOT_LOCK } from '../../host/src/sim/chip/fuses.ts';
import { ROOT } from './node.ts';

function boards(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+)\.([^=]+)=(.*)$/.exec(line.trim());
    if (!m || m[1] === 'menu') continue;
    if (!out.has(m[1])) out.set(m[1], {});
    out.get(m[1])![m[2]] = m[3];
  }
  return out;
}

describe('Arduino IDE package', () => {
  const dest = mkdtempSync(join(tmpdir(), 'stageboot-ide-'));
  execFileSync('make', ['-s', '-C', join(ROOT, 'bootloader'), 'arduino-package', `DEST=${dest}`]);
  const pkg = join(dest, 'stageboot', 'avr');
  const table = boards(readFileSync(join(pkg, 'boards.txt'), 'utf8'));
  const makefile = readFileSync(join(ROOT, 'bootloader', 'Makefile'), 'utf8');

  it('describes the 16 MHz and the 8 MHz boards', () => {
    expect([...table.values()].map((b) => b['build.f_cpu'])).toEqual(['16000000L', '8000000L']);
  });

  for (const [id, b] of table) {
    it(`${id}: fuses, size limit, clock and baud match the bootloader it burns`, () => {
      const hex = parseIhex(readFileSync(join(pkg, 'bootloaders', b['bootloader.file'])));
      const start = extent(hex.segments)!.start;
      const fuses = fusesForBootloader(start, STAGEBOOT_LOCK);
      expect(Number(b['bootloader.high_fuses'])).toBe(fuses.high);
      expect(Number(b['bootloader.lock_bits']) & 0x3f).toBe(STAGEBOOT_LOCK & 0x3f);
      expect(Number(b['upload.maximum_size'])).toBe(start);
      const mhz = Number(b['build.f_cpu'].replace('L', '')) / 1e6;
      expect(b['bootloader.file']).toContain(`${mhz}mhz`);
      const baud = new RegExp(`BAUD_${mhz}mhz\\s*:=\\s*(\\d+)`).exec(makefile)![1];
      expect(b['upload.speed']).toBe(baud);
    });
  }
});
