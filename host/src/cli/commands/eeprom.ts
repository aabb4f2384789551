// `stageboot eeprom build|write|show`: whole-EEPROM images for a chip programmer or for
// writing over Linux I2C, and a reader that explains what an EEPROM dump holds.
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import {
  ActivateMode, BL_SECTION_BYTES, BootResult, BootState, SlotState, chips, decodeRecord, decodeSuperblock,
  parseChip, pickRecord, recordAddrs, type ChipGeometry, type Image, decodeImage, ProtocolError,
} from '../../../../protocol/ts/index.ts';
import { buildEeprom } from '../../eeprom/build.ts';
import { writeEeprom, EepromWriteError } from '../../eeprom/i2c-writer.ts';
import { openLinuxI2c } from '../../eeprom/linux-i2c.ts';
import { parseIhex, writeIhex } from '../../formats/ihex.ts';
import { flatten } from '../../formats/memory.ts';
import { packFirmware } from '../../image/pack.ts';
import { progressBar, showProgress } from '../../ota/progress.ts';
import { TargetError } from '../../targets/index.ts';
import { CliError } from '../errors.ts';
import { chooseTarget, cliErrorOf, EXIT_REFUSED, EXIT_USAGE, formatVersion, hex32, loadForCli, parseVersion } from './firmware-input.ts';

const EXIT_LINK = 3;

function chipOf(spec: string): ChipGeometry {
  try {
    return parseChip(spec);
  } catch (err) {
    throw new CliError((err as Error).message, 'bad-chip', EXIT_USAGE);
  }
}

/** Any firmware file as an image: image files as they are, HEX/ELF/bin packed for the target. */
async function imageFrom(file: string, target: string | undefined, appVersion: number): Promise<Image> {
  const fw = await loadForCli(file);
  if (fw.kind === 'image') return decodeImage(await readFile(file));
  const { part } = chooseTarget(target, fw);
  try {
    return decodeImage(packFirmware(fw, part, { bootSize: BL_SECTION_BYTES, appVersion, confirms: false }).image);
  } catch (err) {
    if (err instanceof TargetError) throw cliErrorOf(err);
    throw err;
  }
}

/** "0=app.hex" or "app.hex" (next free slot). */
function parsePlacement(arg: string, next: number): [number, string] {
  const m = /^(\d+)=(.+)$/.exec(arg);
  return m ? [Number(m[1]), m[2]] : [next, arg];
}

async function readEepromFile(file: string, chip: ChipGeometry): Promise<Uint8Array> {
  const raw = await readFile(file);
  if (extname(file).toLowerCase() === '.hex') return flatten(parseIhex(raw, file).segments, 0, chip.size);
  if (raw.length !== chip.size) throw new CliError(`${file} is ${raw.length} bytes but a ${chip.name} holds ${chip.size}: name the chip with --chip`, 'bad-size', EXIT_REFUSED);
  return new Uint8Array(raw);
}

interface BuildArgs { images: string[]; chip: string; slots?: number; activate?: number; target?: string; 'app-version': string; output: string; json: boolean }
interface WriteArgs { file: string; chip: string; bus: number; address: string; json: boolean }
interface ShowArgs { file: string; chip: string; json: boolean }

const build: CommandModule<object, BuildArgs> = {
  command: 'build <images..>',
  describe: 'Build a whole EEPROM image with firmware placed in slots (for a chip programmer or `eeprom write`)',
  builder: (y) => (y as Argv<object>)
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'Firmware per slot: FILE (next slot) or N=FILE; HEX, ELF, .bin or an image file' })
    .option('chip', { type: 'string', default: '24LC256', describe: `EEPROM chip: ${Object.keys(chips).join(', ')} or SIZE:PAGE` })
    .option('slots', { type: 'number', describe: 'Number of slots (default: 1 on 32 KiB, 2 on 64 KiB, 4 on 128 KiB)' })
    .option('activate', { type: 'number', describe: 'Slot the bootloader installs at the next reset' })
    .option('target', { type: 'string', describe: 'Target part for HEX/ELF/bin input (default: from the file, else ATmega328P)' })
    .option('app-version', { type: 'string', default: '0', describe: 'Version for HEX/ELF/bin input (major.minor.patch or a number)' })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Output file: .bin (raw) or .hex (Intel HEX)' })
    .example('$0 eeprom build app.hex --activate 0 -o eeprom.bin', 'stage app.hex in slot 0 of a 24LC256 and mark it for installation') as unknown as Argv<BuildArgs>,
  handler: async (argv) => {
    const chip = chipOf(argv.chip);
    const appVersion = parseVersion(argv['app-version']);
    const images = new Map<number, Image>();
    let next = 0;
    for (const arg of argv.images) {
      const [slot, file] = parsePlacement(arg, next);
      if (images.has(slot)) throw new CliError(`two images for slot ${slot}`, 'bad-slot', EXIT_USAGE);
      images.set(slot, await imageFrom(file, argv.target, appVersion));
      next = slot + 1;
    }
    let built;
    try {
      built = buildEeprom({ chip, slotCount: argv.slots, images, activate: argv.activate === undefined ? undefined : { slot: argv.activate, mode: ActivateMode.NEXT_RESET } });
    } catch (err) {
      if (err instanceof ProtocolError) throw new CliError(err.message, err.code, EXIT_REFUSED);
      throw err;
    }
    const asHex = extname(argv.output).toLowerCase() === '.hex';
    await writeFile(argv.output, asHex ? writeIhex([{ address: 0, data: built.bytes }]) : built.bytes);
    const slots = built.slots.map((s) => ({ slot: s.slot, dataAddr: s.dataAddr, capacity: s.capacity, length: s.image?.length ?? null, payloadCrc: s.image ? hex32(s.image.payloadCrc) : null }));
    if (argv.json) {
      process.stdout.write(JSON.stringify({ ok: true, output: argv.output, chip: chip.name, size: chip.size, slots, activate: argv.activate ?? null }) + '\n');
      return;
    }
    process.stdout.write(`wrote ${argv.output}: ${chip.name} image, ${built.superblock.slotCount} slot(s) of ${built.superblock.slotSize} bytes\n`);
    for (const s of slots) process.stdout.write(`  slot ${s.slot} @0x${s.dataAddr.toString(16)}: ${s.length === null ? 'empty' : `${s.length} bytes, CRC-32 ${s.payloadCrc}${argv.activate === s.slot ? ', installed at the next reset' : ''}`}\n`);
  },
};

const write: CommandModule<object, WriteArgs> = {
  command: 'write <file>',
  describe: 'Write a whole EEPROM image over Linux I2C (page writes, ACK polling, read-back verify)',
  builder: (y) => (y as Argv<object>)
    .positional('file', { type: 'string', demandOption: true, describe: 'EEPROM image (.bin or .hex) from `eeprom build`' })
    .option('chip', { type: 'string', default: '24LC256', describe: `EEPROM chip: ${Object.keys(chips).join(', ')} or SIZE:PAGE` })
    .option('bus', { type: 'number', default: 1, describe: 'I2C bus number (/dev/i2c-N)' })
    .option('address', { type: 'string', default: '0x50', describe: '7-bit I2C address of the EEPROM' })
    .example('$0 eeprom write eeprom.bin --bus 1 --address 0x50', 'program a 24LC256 on a Raspberry Pi') as unknown as Argv<WriteArgs>,
  handler: async (argv) => {
    const chip = chipOf(argv.chip);
    const address = Number(argv.address);
    if (!Number.isInteger(address) || address < 0x08 || address > 0x77) throw new CliError(`--address ${argv.address} is not a 7-bit I2C address (0x08 to 0x77)`, 'bad-address', EXIT_USAGE);
    const image = await readEepromFile(argv.file, chip);
    const sb = decodeSuperblock(image);
    const bus = await openLinuxI2c(argv.bus);
    const bar = progressBar(showProgress(argv.json), 'eeprom');
    try {
      bar.start(chip.size * 2, 0);
      const pageBytes = chip.pageSize;
      const report = await writeEeprom(bus, image, {
        chip, address, metadataEnd: sb?.dataStart,
        onProgress: (done, total) => bar.update({ ackedBytes: (done * chip.size * 2) / total, totalBytes: chip.size * 2, sentBytes: done * pageBytes, resentChunks: 0 }),
      });
      bar.stop();
      if (argv.json) process.stdout.write(JSON.stringify({ ok: true, chip: chip.name, bus: argv.bus, address, ...report }) + '\n');
      else process.stdout.write(`wrote ${report.pagesWritten} page(s), ${report.pagesSkipped} already right; verified ${report.bytesVerified} bytes\n`);
    } catch (err) {
      bar.stop();
      if (err instanceof EepromWriteError) throw new CliError(err.message, 'eeprom-write', err.message.startsWith('no ACK') ? EXIT_LINK : EXIT_REFUSED, { addr: err.addr });
      throw err;
    } finally {
      await bus.close();
    }
  },
};

/** What a dump holds: superblock, boot record and every slot, each as a reader sees it. */
export function describeEeprom(mem: Uint8Array) {
  const sb = decodeSuperblock(mem);
  if (!sb) return { formatted: false as const };
  const rec = (name: 'BootRecord' | 'SlotRecord', which: 'boot' | number) => {
    const [a, b] = recordAddrs(sb.recPitch, which);
    return pickRecord(decodeRecord(name, mem.subarray(a, a + sb.recPitch)), decodeRecord(name, mem.subarray(b, b + sb.recPitch))).record;
  };
  const name = (table: Record<string, number>, v: number) => Object.keys(table).find((k) => table[k] === v) ?? `0x${v.toString(16)}`;
  const boot = rec('BootRecord', 'boot') as { state: number; slot: number; current: number; backup: number; result: number; flags: number } | null;
  const slots = Array.from({ length: sb.slotCount }, (_, i) => {
    const s = rec('SlotRecord', i) as { state: number; progress: number; capacity: number; dataAddr: number; header: { length: number; payloadCrc: number; appVersion: number } } | null;
    return { slot: i, state: s ? name(SlotState, s.state) : 'EMPTY', dataAddr: s?.dataAddr ?? null, capacity: s?.capacity ?? null, progress: s?.progress ?? 0, length: s && s.state !== SlotState.EMPTY ? s.header.length : null, payloadCrc: s && s.state !== SlotState.EMPTY ? hex32(s.header.payloadCrc) : null, appVersion: s && s.state !== SlotState.EMPTY ? formatVersion(s.header.appVersion) : null };
  });
  return {
    formatted: true as const, chipSize: sb.chipSize, pageSize: sb.pageSize, slotCount: sb.slotCount, slotSize: sb.slotSize,
    boot: boot ? { state: name(BootState, boot.state), slot: boot.slot, current: boot.current, backup: boot.backup, trial: !!(boot.flags & 1), result: name(BootResult, boot.result) } : null,
    slots,
  };
}

const show: CommandModule<object, ShowArgs> = {
  command: 'show <file>',
  describe: 'Explain an EEPROM dump: layout, boot record and slots',
  builder: (y) => (y as Argv<object>)
    .positional('file', { type: 'string', demandOption: true, describe: 'EEPROM dump (.bin or .hex)' })
    .option('chip', { type: 'string', default: '24LC256', describe: 'EEPROM chip, for .bin size checks' }) as unknown as Argv<ShowArgs>,
  handler: async (argv) => {
    const d = describeEeprom(await readEepromFile(argv.file, chipOf(argv.chip)));
    if (argv.json) { process.stdout.write(JSON.stringify({ ok: true, ...d }) + '\n'); return; }
    if (!d.formatted) { process.stdout.write('not formatted: no valid superblock at address 0\n'); return; }
    process.stdout.write(`${d.chipSize}-byte EEPROM, ${d.pageSize}-byte pages, ${d.slotCount} slot(s) of ${d.slotSize} bytes\n`);
    process.stdout.write(d.boot ? `boot: ${d.boot.state} slot ${d.boot.slot} current ${d.boot.current} backup ${d.boot.backup}${d.boot.trial ? ' trial' : ''}, last result ${d.boot.result}\n` : 'boot: no valid record (nothing to do)\n');
    for (const s of d.slots) process.stdout.write(`slot ${s.slot}: ${s.state}${s.length !== null ? `, ${s.progress}/${s.length} bytes, CRC-32 ${s.payloadCrc}, version ${s.appVersion}` : ''}\n`);
  },
};

export const eepromCommand: CommandModule<object, object> = {
  command: 'eeprom <command>',
  describe: 'Build, write or explain whole EEPROM images',
  builder: (y) => y.command(build as never).command(write as never).command(show as never).demandCommand(1, 'Name an eeprom command: build, write or show.'),
  handler: () => {},
};
