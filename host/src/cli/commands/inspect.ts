// `stageboot inspect FILE`: what a firmware file holds (HEX, ELF, raw binary or stageboot
// image), its CRC-32, the part it is for and whether it fits. Exits 1 when the file is
// malformed or a check fails, so it can gate a build.
import type { Argv, CommandModule } from 'yargs';
import { crc32 } from '../../../../protocol/ts/index.ts';
import { imageHeaderOf } from '../../formats/image.ts';
import type { Firmware } from '../../formats/load.ts';
import { extent, hex, totalSize, type Segment } from '../../formats/memory.ts';
import { payloadOf } from '../../formats/payload.ts';
import { bootBytes, checkEepromFits, checkFits, checkSignature, formatSignature, lookupTarget, TargetError, type FitReport } from '../../targets/index.ts';
import { CliError } from '../errors.ts';
import { chooseTarget, EXIT_REFUSED, EXIT_USAGE, formatVersion, hex32, loadForCli, type ChosenTarget } from './firmware-input.ts';

interface InspectArgs {
  file: string;
  target?: string;
  'boot-size'?: number;
  format?: string;
  json: boolean;
}

interface Range {
  start: number;
  end: number;
  bytes: number;
}

export interface InspectReport {
  file: string;
  kind: string;
  flash: { ranges: Range[]; bytes: number };
  payload: { loadAddr: number; length: number; crc32: number };
  eeprom?: { ranges: Range[]; bytes: number };
  fuses?: number[];
  lock?: number;
  signature?: string;
  /** ELF sections with contents that are not programmed (as avr-objcopy leaves them out). */
  skipped?: string[];
  image?: { format: number; flags: number; appVersion: string; appVersionRaw: number; buildId: number; payloadCrc: number; headerCrc: number };
  target: { id: string; name: string; signature: string; from: ChosenTarget['from']; flashSize: number; pageSize: number; bootSizes: number[] };
  fit?: FitReport & { bootSizesThatFit: number[] };
  problems: { code: string; message: string }[];
}

const ranges = (segs: readonly Segment[]): Range[] => segs.map((s) => ({ start: s.address, end: s.address + s.data.length, bytes: s.data.length }));

export function inspectFirmware(fw: Firmware, chosen: ChosenTarget, bootSize?: number): InspectReport {
  const { part } = chosen;
  const payload = payloadOf(fw.segments, part.pageSize);
  const header = imageHeaderOf(fw);
  const report: InspectReport = {
    file: fw.name,
    kind: fw.kind,
    flash: { ranges: ranges(fw.segments), bytes: totalSize(fw.segments) },
    // An image file's payload is what its header describes, not a re-derived one.
    payload: header
      ? { loadAddr: header.loadAddr, length: header.length, crc32: header.payloadCrc }
      : { loadAddr: payload.loadAddr, length: payload.data.length, crc32: crc32(payload.data) },
    target: { id: part.id, name: part.name, signature: formatSignature(part.signature), from: chosen.from, flashSize: part.flashSize, pageSize: part.pageSize, bootSizes: bootBytes(part) },
    problems: [],
  };
  if (fw.eeprom?.length) report.eeprom = { ranges: ranges(fw.eeprom), bytes: totalSize(fw.eeprom) };
  if (fw.fuses) report.fuses = Array.from(fw.fuses);
  if (fw.lock?.length) report.lock = fw.lock[0];
  if (fw.signature) report.signature = formatSignature(fw.signature);
  const skipped = fw.details?.skipped as string[] | undefined;
  if (skipped?.length) report.skipped = skipped;
  if (header) {
    report.image = {
      format: header.format,
      flags: header.flags,
      appVersion: formatVersion(header.appVersion),
      appVersionRaw: header.appVersion,
      buildId: header.buildId,
      payloadCrc: header.payloadCrc,
      headerCrc: header.headerCrc,
    };
  }
  const check = (f: () => void) => {
    try {
      f();
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
      if (err.code === 'bad-boot-size') throw new CliError(err.message, err.code, EXIT_USAGE, err.details);
      report.problems.push({ code: err.code, message: err.message });
    }
  };
  check(() => checkSignature(part, fw.signature));
  check(() => {
    const fit = checkFits(part, fw.segments, bootSize ?? 0);
    const end = extent(fw.segments)?.end ?? 0;
    report.fit = { ...fit, bootSizesThatFit: bootBytes(part).filter((b) => end <= part.flashSize - b) };
  });
  if (fw.eeprom) check(() => checkEepromFits(part, fw.eeprom!));
  return report;
}

const KINDS: Record<string, string> = { ihex: 'Intel HEX', elf: 'ELF', bin: 'raw binary', image: 'stageboot image' };

function rangeLine(r: Range): string {
  return `  ${hex(r.start)}-${hex(r.end - 1)}  ${String(r.bytes).padStart(6)} bytes`;
}

export function formatInspect(r: InspectReport, bootSize?: number): string {
  const out: string[] = [`${r.file}: ${KINDS[r.kind] ?? r.kind}`];
  const n = r.flash.ranges.length;
  out.push(`flash      ${r.flash.bytes} bytes in ${n} range${n === 1 ? '' : 's'}`, ...r.flash.ranges.map(rangeLine));
  out.push(`payload    ${r.payload.length} bytes from ${hex(r.payload.loadAddr)}, CRC-32 ${hex32(r.payload.crc32)}${r.kind === 'image' ? '' : ' (gaps filled with 0xFF)'}`);
  if (r.image) {
    out.push(`image      format ${r.image.format}, version ${r.image.appVersion}, build id ${hex32(r.image.buildId)}, flags ${hex(r.image.flags)}, header CRC-32 ${hex32(r.image.headerCrc)}`);
  }
  if (r.eeprom) out.push(`eeprom     ${r.eeprom.bytes} bytes in ${r.eeprom.ranges.length} range${r.eeprom.ranges.length === 1 ? '' : 's'} (not part of an image)`, ...r.eeprom.ranges.map(rangeLine));
  if (r.fuses) out.push(`fuses      ${r.fuses.map((b, i) => `${['low', 'high', 'extended'][i] ?? `fuse${i}`} ${hex(b, 2)}`).join(', ')}`);
  if (r.lock !== undefined) out.push(`lock       ${hex(r.lock, 2)}`);
  if (r.skipped) out.push(`left out   ${r.skipped.join(', ')} (not loadable flash; avr-objcopy leaves them out too)`);
  const from = { option: 'from --target', signature: "from the file's signature", default: 'the default; the file names no chip, --target picks another' }[r.target.from];
  out.push(`target     ${r.target.name} (${r.target.signature}), ${from}`);
  if (r.signature && r.target.from !== 'signature') out.push(`built for  ${lookupTarget(r.signature)?.name ?? 'unknown chip'} (${r.signature})`);
  if (r.fit) out.push(`fits       ${fitText(r.fit, bootSize)}`);
  for (const p of r.problems) out.push(`PROBLEM    ${p.message}`);
  return out.join('\n') + '\n';
}

function fitText(fit: InspectReport['fit'] & object, bootSize?: number): string {
  const base = `yes: ends at ${hex(fit.imageEnd)}, ${fit.pages} flash page${fit.pages === 1 ? '' : 's'}`;
  if (bootSize !== undefined) return `${base}, ${fit.free} bytes free below the ${bootSize ? `${bootSize}-byte boot section` : 'end of flash'}`;
  const sizes = fit.bootSizesThatFit;
  return sizes.length ? `${base}; leaves room for a boot section of up to ${Math.max(...sizes)} bytes` : `${base}, but leaves no room for any boot section`;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <file>',
  describe: 'Show what a firmware file holds and whether it fits the target',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'Intel HEX, ELF, raw .bin or stageboot image' })
      .option('target', { alias: 't', type: 'string', describe: 'Part (m328p, ATmega2560, 1E950F, any avrdude.conf part); default: from the file, else ATmega328P' })
      .option('boot-size', { type: 'number', describe: 'Bytes reserved for the bootloader at the top of flash (a BOOTSZ size, or 0); default: report which fit' })
      .option('format', { type: 'string', choices: ['ihex', 'elf', 'bin', 'image'], describe: 'Read the file as this format instead of detecting it' })
      .example('$0 inspect blink.hex', 'ranges, size, CRC-32 and fit on an ATmega328P')
      .example('$0 inspect blink.elf --boot-size 1024 --json', 'exit 1 unless it fits below a 1 KiB bootloader')
      .epilog('Exit status: 0 the file is fine, 1 the file is malformed or a check failed, 2 usage error.') as unknown as Argv<InspectArgs>,
  handler: async (argv) => {
    const bootSize = argv['boot-size'];
    if (bootSize !== undefined && !Number.isInteger(bootSize)) throw new CliError(`--boot-size must be a whole number of bytes, not ${bootSize}`, 'bad-boot-size', EXIT_USAGE);
    const fw = await loadForCli(argv.file, argv.format);
    const report = inspectFirmware(fw, chooseTarget(argv.target, fw), bootSize);
    const ok = report.problems.length === 0;
    if (argv.json && ok) process.stdout.write(JSON.stringify({ ok: true, ...report }) + '\n');
    if (!argv.json) process.stdout.write(formatInspect(report, bootSize));
    if (!ok) {
      const first = report.problems[0];
      throw new CliError(`${fw.name}: ${first.message}`, first.code, EXIT_REFUSED, { report });
    }
  },
};
