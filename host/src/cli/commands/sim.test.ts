// `stageboot sim` through the real CLI entry: what it refuses, with which exit code, before a
// node ever runs. (The long-running path is exercised by test/e2e/avrdude-optiboot.test.ts.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestFirmware, type TestFirmware } from '../../../../test/firmware/build.ts';
import { runCli } from '../../../../test/cli/run.ts';

let fw: TestFirmware;
beforeAll(() => {
  fw = buildTestFirmware();
});

let out = '';
let err = '';
/** Runs `stageboot ...` in-process; its output lands in `out` and `err`. */
async function main(argv: string[]): Promise<number> {
  const r = await runCli(...argv);
  out = r.out;
  err = r.err;
  return r.code;
}

const scratch = () => mkdtempSync(join(tmpdir(), 'stageboot-sim-cli-'));
const lastJson = () => JSON.parse(out.trim().split('\n').pop()!);

describe('stageboot sim', () => {
  it('--help names the options, the auto-reset rule and the exit codes', async () => {
    // Run as a child, as a user would: the help text as the installed command prints it.
    const out = execFileSync(process.execPath, [join(import.meta.dirname, '../../../bin/stageboot.mjs'), 'sim', '--help'], { encoding: 'utf8' });
    for (const opt of ['--pty', '--flash', '--bootloader', '--eeprom', '--eeprom-file', '--clock', '--speed', '--quiet-ms']) expect(out).toContain(opt);
    expect(out).toMatch(/no DTR/);
    expect(out).toMatch(/3 the pty could not be created/);
  });

  it('needs --pty (usage error, 2)', async () => {
    expect(await main(['sim'])).toBe(2);
    expect(err).toMatch(/pty/);
  });

  it('refuses a bootloader that does not start at a boot section (1)', async () => {
    // The application image starts at 0, not at 0x7000/0x7800/0x7C00/0x7E00.
    expect(await main(['sim', '--pty', join(scratch(), 'p'), '--bootloader', fw.big, '--json'])).toBe(1);
    expect(lastJson()).toMatchObject({ ok: false, error: { code: 'bad-bootloader' } });
    expect(err).toMatch(/starts at 0x0000.*boot section/);
  });

  it('refuses an application that overlaps the bootloader (1)', async () => {
    const dir = scratch();
    const bytes = readFileSync(fw.optiboot, 'utf8'); // an "application" placed at 0x7E00
    writeFileSync(join(dir, 'app.hex'), bytes);
    expect(await main(['sim', '--pty', join(dir, 'p'), '--flash', join(dir, 'app.hex'), '--bootloader', fw.optiboot, '--json'])).toBe(1);
    expect(lastJson()).toMatchObject({ ok: false, error: { code: 'does-not-fit' } });
  });

  it('refuses --eeprom-file with --eeprom none (2)', async () => {
    expect(await main(['sim', '--pty', join(scratch(), 'p'), '--eeprom', 'none', '--eeprom-file', 'x.bin'])).toBe(2);
  });

  it('will not take over a path that is not its own (3)', async () => {
    const dir = scratch();
    const file = join(dir, 'taken');
    writeFileSync(file, 'not a pty');
    expect(await main(['sim', '--pty', file, '--json'])).toBe(3);
    expect(lastJson()).toMatchObject({ ok: false, error: { code: 'pty-failed' } });
    const link = join(dir, 'link');
    symlinkSync('/etc/hostname', link);
    expect(await main(['sim', '--pty', link])).toBe(3);
    expect(err).toMatch(/not a pty/);
  });
});
