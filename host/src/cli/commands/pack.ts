// `stageboot pack FILE -o IMAGE`: turns HEX, ELF or a raw binary into a stageboot image
// file (header format from protocol/). Refuses firmware for another chip or firmware that
// would overwrite the bootloader, since a node would only refuse it later, after the upload.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BL_SECTION_BYTES } from '../../../../protocol/ts/index.ts';
import { packFirmware, type Packed } from '../../image/pack.ts';
import { hex } from '../../formats/memory.ts';
import { TargetError } from '../../targets/index.ts';
import { CliError } from '../errors.ts';
import { chooseTarget, cliErrorOf, EXIT_REFUSED, EXIT_USAGE, formatVersion, hex32, loadForCli, parseU32, parseVersion } from './firmware-input.ts';

interface PackArgs {
  file: string;
  output?: string;
  target?: string;
  'boot-size'?: number;
  'app-version': string;
  'build-id'?: string;
  confirms: boolean;
  format?: string;
  json: boolean;
}

function defaultOutput(file: string): string {
  return file.replace(/\.(hex|ihex|ihx|elf|bin)$/i, '') + '.sbim';
}

export const packCommand: CommandModule<object, PackArgs> = {
  command: 'pack <file>',
  describe: 'Write a stageboot image file from Intel HEX, ELF or a raw binary',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'Firmware to pack: Intel HEX, ELF or raw .bin' })
      .option('output', { alias: 'o', type: 'string', describe: 'Image file to write (default: FILE with .sbim in place of its extension)' })
      .option('target', { alias: 't', type: 'string', describe: 'Part the image is for; default: from the file, else ATmega328P' })
      .option('boot-size', { type: 'number', describe: 'Bytes reserved for the bootloader at the top of flash (a BOOTSZ size, or 0 for none); the stageboot bootloader takes 1024', default: BL_SECTION_BYTES })
      .option('app-version', { type: 'string', default: '0.0.0', describe: 'Application version: major.minor.patch or a number' })
      .option('build-id', { type: 'string', describe: 'Build identifier (number or 0x hex); default: the payload CRC-32' })
      .option('confirms', { type: 'boolean', default: false, describe: 'The application confirms a trial boot (it links the stageboot runtime)' })
      .option('format', { type: 'string', choices: ['ihex', 'elf', 'bin'], describe: 'Read the input as this format instead of detecting it' })
      .example('$0 pack blink.hex --app-version 1.2.0 --boot-size 2048', 'writes blink.sbim')
      .epilog('Exit status: 0 image written, 1 input malformed or refused (wrong chip, too big), 2 usage error.') as unknown as Argv<PackArgs>,
  handler: async (argv) => {
    const bootSize = argv['boot-size'] ?? BL_SECTION_BYTES;
    if (!Number.isInteger(bootSize)) throw new CliError(`--boot-size must be a whole number of bytes, not ${bootSize}`, 'bad-boot-size', EXIT_USAGE);
    const output = argv.output ?? defaultOutput(argv.file);
    if (resolve(output) === resolve(argv.file)) throw new CliError(`the output ${output} would overwrite the input; name another with -o`, 'output-is-input', EXIT_USAGE);
    const appVersion = parseVersion(argv['app-version']);
    const buildId = argv['build-id'] === undefined ? undefined : parseU32(argv['build-id'], 'build id');

    const fw = await loadForCli(argv.file, argv.format);
    if (fw.kind === 'image') throw new CliError(`${fw.name} is already a stageboot image`, 'already-image', EXIT_REFUSED);
    if (fw.segments.length === 0) throw new CliError(`${fw.name} holds no flash bytes to pack`, 'empty-firmware', EXIT_REFUSED);
    const { part } = chooseTarget(argv.target, fw);
    let packed: Packed;
    try {
      packed = packFirmware(fw, part, { bootSize, appVersion, buildId, confirms: argv.confirms });
    } catch (err) {
      if (err instanceof TargetError) throw cliErrorOf(err, err.code === 'bad-boot-size' ? EXIT_USAGE : EXIT_REFUSED);
      throw err;
    }
    await writeFile(output, packed.image);

    for (const what of packed.dropped) process.stderr.write(`stageboot: note: ${fw.name} has ${what}; an image carries flash only, so they are left out\n`);
    if (packed.loadAddr !== 0) process.stderr.write(`stageboot: note: the payload starts at ${hex(packed.loadAddr)}, not 0: the image does not include the reset vector\n`);
    const summary = {
      output,
      target: part.name,
      loadAddr: packed.loadAddr,
      length: packed.length,
      payloadCrc: packed.payloadCrc,
      appVersion: formatVersion(appVersion),
      appVersionRaw: appVersion,
      buildId: packed.buildId,
      flags: packed.flags,
      headerCrc: packed.headerCrc,
      imageBytes: packed.image.length,
      dropped: packed.dropped,
    };
    if (argv.json) process.stdout.write(JSON.stringify({ ok: true, ...summary }) + '\n');
    else {
      process.stdout.write(
        `wrote ${output}: ${packed.length}-byte payload for the ${part.name} from ${hex(packed.loadAddr)}, ` +
          `CRC-32 ${hex32(packed.payloadCrc)}, version ${summary.appVersion}, build id ${hex32(packed.buildId)}${packed.flags ? ', confirms trial boots' : ''}\n`,
      );
    }
  },
};
