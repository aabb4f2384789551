// `stageboot eeprom build` and `show`, through the real CLI entry, on a program built by avr-gcc.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../../protocol/ts/index.ts';
import { buildAvr } from '../../../../test/fixtures/avr/build.ts';
import { parseIhex } from '../../formats/ihex.ts';
import { flatten } from '../../formats/memory.ts';
import { runCli } from '../../../../test/cli/run.ts';

async function run(...args: string[]) {
  const r = await runCli(...args, '--json');
  return { code: r.code, json: r.json() as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('stageboot eeprom', () => {
  const sketch = buildAvr('sketch328p');
  const dir = mkdtempSync(join(tmpdir(), 'stageboot-eeprom-'));

  it('builds a 24LC512 image with two slots, one pending, that show reads back', async () => {
    const bin = join(dir, 'e.bin');
    const built = await run('eeprom', 'build', `1=${sketch.elf}`, '--chip', '24LC512', '--activate', '1', '--app-version', '2.0.1', '-o', bin);
    expect(built.code).toBe(0);
    const mem = readFileSync(bin);
    expect(mem.length).toBe(65536);
    const payload = readFileSync(sketch.bin);
    const slot1 = built.json.slots[1];
    expect(slot1.length).toBe(payload.length);
    expect(crc32(mem.subarray(slot1.dataAddr, slot1.dataAddr + payload.length))).toBe(crc32(payload));

    const shown = await run('eeprom', 'show', bin, '--chip', '24LC512');
    expect(shown.json.boot).toMatchObject({ state: 'PENDING', slot: 1 });
    expect(shown.json.slots.map((s: { state: string }) => s.state)).toEqual(['EMPTY', 'STAGED']);
    expect(shown.json.slots[1].appVersion).toBe('2.0.1');
  });

  it('writes Intel HEX that reads back as the same bytes', async () => {
    const hex = join(dir, 'e.hex');
    const bin = join(dir, 'same.bin');
    expect((await run('eeprom', 'build', sketch.elf, '-o', hex)).code).toBe(0);
    expect((await run('eeprom', 'build', sketch.elf, '-o', bin)).code).toBe(0);
    expect(Buffer.from(flatten(parseIhex(readFileSync(hex)).segments, 0, 32768)).equals(readFileSync(bin))).toBe(true);
  });

  it('refuses a missing slot, an unknown chip and a firmware built for another chip', async () => {
    const bad = join(dir, 'never.bin');
    expect(await run('eeprom', 'build', `3=${sketch.elf}`, '-o', bad)).toMatchObject({ code: 1, json: { error: { code: 'bad-slot' } } });
    expect(await run('eeprom', 'build', sketch.elf, '--chip', '24LC999', '-o', bad)).toMatchObject({ code: 2, json: { error: { code: 'bad-chip' } } });
    expect(await run('eeprom', 'build', sketch.elf, '--target', 'm2560', '-o', bad)).toMatchObject({ code: 1, json: { error: { code: 'wrong-target' } } });
    expect(() => readFileSync(bad)).toThrow(/ENOENT/); // nothing was written
  });
});
