// The inspect and pack commands, run through the real CLI entry (main) with stdout and
// stderr captured, on programs compiled by avr-gcc.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeImage, ImageFlag } from '../../../../protocol/ts/index.ts';
import { buildAvr } from '../../../../test/fixtures/avr/build.ts';
import { runCli } from '../../../../test/cli/run.ts';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const hexFixtures = join(root, 'test', 'fixtures', 'hex');

// What the runs of one test printed, in order (a test may clear `out` between runs).
let out = '';
let err = '';
beforeEach(() => {
  out = err = '';
});

async function run(...args: string[]): Promise<{ code: number; json: any }> {
  const r = await runCli(...args);
  out += r.out;
  err += r.err;
  return { code: r.code, json: args.includes('--json') ? r.json() : undefined };
}

const scratch = () => mkdtempSync(join(tmpdir(), 'stageboot-cli-'));

describe('stageboot inspect', () => {
  const sketch = buildAvr('sketch328p');

  it('describes an ELF: ranges, CRC-32 of the payload, memories, target from the signature', async () => {
    const { code, json } = await run('inspect', sketch.elf, '--json');
    expect(code).toBe(0);
    const bin = readFileSync(sketch.bin);
    expect(json).toMatchObject({
      ok: true,
      kind: 'elf',
      flash: { ranges: [{ start: 0, end: bin.length, bytes: bin.length }], bytes: bin.length },
      payload: { loadAddr: 0, length: bin.length, crc32: crc32(bin) },
      fuses: [0xff, 0xda, 0xfd],
      lock: 0x2f,
      signature: '1E 95 0F',
      target: { id: 'm328p', from: 'signature' },
      fit: { imageEnd: bin.length, bootSizesThatFit: [512, 1024, 2048, 4096] },
      problems: [],
    });
    expect(json.eeprom.bytes).toBe(10);
  });

  it('prints a readable report for a HEX file checked against a boot section', async () => {
    const { code } = await run('inspect', sketch.hex, '--boot-size', '512');
    expect(code).toBe(0);
    const size = readFileSync(sketch.bin).length;
    expect(out).toContain(`${sketch.hex}: Intel HEX`);
    expect(out).toMatch(new RegExp(`payload +${size} bytes from 0x0000, CRC-32 0x${crc32(readFileSync(sketch.bin)).toString(16).toUpperCase().padStart(8, '0')}`));
    expect(out).toMatch(/target +ATmega328P \(1E 95 0F\), the default/);
    expect(out).toContain(`${0x7e00 - size} bytes free below the 512-byte boot section`);
  });

  it('exits 1 and says why for firmware built for another chip', async () => {
    const { code, json } = await run('inspect', buildAvr('high2560').elf, '--target', 'm328p', '--json');
    expect(code).toBe(1);
    expect(json.ok).toBe(false);
    expect(json.error.code).toBe('wrong-target');
    expect(json.error.report.problems.map((p: { code: string }) => p.code)).toEqual(['wrong-target', 'image-too-big']);
  });

  it('exits 1 when the image runs into the bootloader', async () => {
    const { code } = await run('inspect', buildAvr('boot328p').elf, '--boot-size', '1024');
    expect(code).toBe(1);
    expect(out).toMatch(/PROBLEM +image ends at 0x7C.., but the ATmega328P bootloader starts at 0x7C00/);
    expect(err).toMatch(/^stageboot: .*boot328p.elf: image ends at/);
  });

  it('exits 1 with the line of a malformed HEX file', async () => {
    const { code, json } = await run('inspect', join(hexFixtures, 'bad-checksum.hex'), '--json');
    expect(code).toBe(1);
    expect(json.error).toMatchObject({ code: 'hex-checksum', line: 3, column: 42 });
  });

  it('exits 2 on usage errors', async () => {
    expect((await run('inspect')).code).toBe(2);
    expect((await run('inspect', sketch.hex, '--boot-size', '100')).code).toBe(2);
    expect(err).toContain('a 100-byte bootloader does not suit the ATmega328P');
    expect((await run('inspect', sketch.hex, '--target', 'm999')).code).toBe(2);
    expect(err).toContain("unknown part 'm999'");
  });
});

describe('stageboot pack', () => {
  const sketch = buildAvr('sketch328p');

  it('writes an image the protocol codec accepts, with the payload avr-objcopy produces', async () => {
    const dir = scratch();
    const output = join(dir, 'app.sbim');
    const { code, json } = await run('pack', sketch.elf, '-o', output, '--app-version', '1.2.3', '--boot-size', '2048', '--confirms', '--json');
    expect(code).toBe(0);
    const { header, payload } = decodeImage(readFileSync(output));
    const bin = readFileSync(sketch.bin);
    expect(Buffer.from(payload).equals(bin)).toBe(true);
    expect(Array.from(header.signature)).toEqual([0x1e, 0x95, 0x0f]);
    expect(header).toMatchObject({ loadAddr: 0, length: bin.length, payloadCrc: crc32(bin), appVersion: 0x010203, buildId: crc32(bin), flags: ImageFlag.CONFIRMS });
    expect(json).toMatchObject({ ok: true, output, target: 'ATmega328P', appVersion: '1.2.3', dropped: ['EEPROM data', 'fuse bytes', 'lock bits'] });
    expect(err).toContain('has EEPROM data; an image carries flash only');
  });

  it('writes FILE.sbim beside a HEX input by default and takes a build id', async () => {
    const dir = scratch();
    const input = join(dir, 'blink.hex');
    copyFileSync(sketch.hex, input);
    expect((await run('pack', input, '--build-id', '0xC0FFEE')).code).toBe(0);
    expect(out).toMatch(/^wrote .*blink.sbim: \d+-byte payload for the ATmega328P from 0x0000, CRC-32 0x[0-9A-F]{8}, version 0.0.0, build id 0x00C0FFEE\n$/);
    expect(decodeImage(readFileSync(join(dir, 'blink.sbim'))).header.buildId).toBe(0xc0ffee);
  });

  it('packs an ATmega2560 image with bytes above 64 KiB for its own chip', async () => {
    const build = buildAvr('high2560');
    const output = join(scratch(), 'mega.sbim');
    expect((await run('pack', build.elf, '-o', output)).code).toBe(0);
    const { header, payload } = decodeImage(readFileSync(output));
    expect(Array.from(header.signature)).toEqual([0x1e, 0x98, 0x01]);
    expect(Buffer.from(payload).equals(readFileSync(build.bin))).toBe(true);
  });

  it('reads back through inspect, which shows the header', async () => {
    const output = join(scratch(), 'app.sbim');
    await run('pack', sketch.hex, '-o', output, '--app-version', '2.0.1');
    out = '';
    const { code, json } = await run('inspect', output, '--json');
    expect(code).toBe(0);
    expect(json).toMatchObject({ kind: 'image', image: { appVersion: '2.0.1', format: 1 }, target: { id: 'm328p', from: 'signature' } });
  });

  it('refuses a corrupt image in inspect', async () => {
    const output = join(scratch(), 'app.sbim');
    await run('pack', sketch.hex, '-o', output);
    const bytes = readFileSync(output);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(output, bytes);
    out = '';
    const { code, json } = await run('inspect', output, '--json');
    expect(code).toBe(1);
    expect(json.error.code).toBe('image-bad-payload-crc');
  });

  it('refuses, without writing anything, firmware that overlaps the bootloader or is for another chip', async () => {
    const dir = scratch();
    const tooBig = join(dir, 'boot.sbim');
    const r1 = await run('pack', buildAvr('boot328p').elf, '-o', tooBig, '--boot-size', '1024', '--json');
    expect(r1.code).toBe(1);
    expect(r1.json.error.code).toBe('image-too-big');
    expect(existsSync(tooBig)).toBe(false);
    out = '';
    const wrong = join(dir, 'wrong.sbim');
    const r2 = await run('pack', sketch.elf, '-o', wrong, '--target', 'm2560', '--json');
    expect(r2.code).toBe(1);
    expect(r2.json.error.code).toBe('wrong-target');
    expect(existsSync(wrong)).toBe(false);
  });

  it('refuses to pack an image again or overwrite its input', async () => {
    const dir = scratch();
    const image = join(dir, 'app.sbim');
    await run('pack', sketch.hex, '-o', image);
    expect((await run('pack', image, '-o', join(dir, 'again.sbim'))).code).toBe(1);
    expect(err).toContain('is already a stageboot image');
    expect((await run('pack', sketch.hex, '-o', sketch.hex)).code).toBe(2);
    expect((await run('pack', sketch.hex, '-o', join(dir, 'x.sbim'), '--app-version', '1.256.0')).code).toBe(2);
  });
});

describe('--help', () => {
  it.each(['inspect', 'pack'])('%s --help lists its options and exit codes', (cmd) => {
    const text = execFileSync('node', [join(root, 'host', 'bin', 'stageboot.mjs'), cmd, '--help'], { encoding: 'utf8' });
    expect(text).toContain(`stageboot ${cmd} <file>`);
    expect(text).toContain('--target');
    expect(text).toContain('--json');
    expect(text).toMatch(/Exit status: 0 .*, 1 .*, 2 usage error/);
  });
});
