// One entry point for every firmware file the CLI accepts. Formats with a magic number are
// recognised by content first (a stageboot image, ELF, Intel HEX), then by file extension,
// so a file named *.hex that is not Intel HEX gets Intel HEX's error and not a silent load
// as raw bytes. Raw binaries have no magic: they need a .bin extension or an explicit kind.
//
// The stageboot image format is defined in protocol/; image.ts adapts its codec into a
// FirmwareFormat. Further formats plug in through registerFirmwareFormat() or `formats`.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseBin } from './bin.ts';
import { isElf, parseElf } from './elf.ts';
import { FormatError } from './errors.ts';
import { imageFormat } from './image.ts';
import { parseIhex } from './ihex.ts';
import type { Segment } from './memory.ts';

export type FirmwareKind = 'ihex' | 'elf' | 'bin' | (string & {});

export interface Firmware {
  kind: FirmwareKind;
  /** The file name as given, used in every message about this firmware. */
  name: string;
  /** Flash contents: sorted, merged, non-overlapping. */
  segments: Segment[];
  /** EEPROM contents, addresses from the start of EEPROM. */
  eeprom?: Segment[];
  /** Fuse bytes: low, high, extended. */
  fuses?: Uint8Array;
  lock?: Uint8Array;
  /** The three signature bytes of the chip the firmware was built for, 0x1E first. */
  signature?: Uint8Array;
  /** Extra facts a format knows (a stageboot image's header, an ELF's skipped sections...). */
  details?: Record<string, unknown>;
}

export interface FirmwareFormat {
  kind: FirmwareKind;
  /** One line for help texts and errors, e.g. "Intel HEX". */
  description: string;
  /** Lower-case extensions with the dot, e.g. ['.hex']. */
  extensions: string[];
  /** True only when the content is unmistakably this format (a magic number). */
  detect(bytes: Uint8Array): boolean;
  read(bytes: Uint8Array, name: string): Firmware;
}

const builtIn: FirmwareFormat[] = [
  imageFormat,
  {
    kind: 'elf',
    description: 'ELF (avr-gcc output)',
    extensions: ['.elf', '.out', '.axf'],
    detect: isElf,
    read(bytes, name) {
      const { segments, eeprom, fuses, lock, signature, entry, skipped } = parseElf(bytes, name);
      return { kind: 'elf', name, segments, eeprom, fuses, lock, signature, details: { entry, skipped } };
    },
  },
  {
    kind: 'ihex',
    description: 'Intel HEX',
    extensions: ['.hex', '.ihex', '.ihx', '.eep'],
    detect: looksLikeIhex,
    read(bytes, name) {
      const { segments, startLinear, startSegment } = parseIhex(bytes, name);
      const details: Record<string, unknown> = {};
      if (startLinear !== undefined) details.startLinear = startLinear;
      if (startSegment) details.startSegment = startSegment;
      return { kind: 'ihex', name, segments, details };
    },
  },
  {
    kind: 'bin',
    description: 'raw binary from address 0',
    extensions: ['.bin'],
    detect: () => false,
    read: (bytes, name) => ({ kind: 'bin', name, segments: parseBin(bytes) }),
  },
];

const registered: FirmwareFormat[] = [];

/** Adds a format ahead of the built-in ones. Same kind replaces. */
export function registerFirmwareFormat(format: FirmwareFormat): void {
  const i = registered.findIndex((f) => f.kind === format.kind);
  if (i >= 0) registered[i] = format;
  else registered.push(format);
}

export function firmwareFormats(extra: FirmwareFormat[] = []): FirmwareFormat[] {
  return [...extra, ...registered, ...builtIn];
}

export interface LoadOptions {
  /** Formats tried before the registered and built-in ones. */
  formats?: FirmwareFormat[];
  /** Skip detection and read as this kind. */
  kind?: FirmwareKind;
}

export type FirmwareInput = string | { bytes: Uint8Array; name: string };

/** Reads a firmware file (a path) or bytes already in memory. Throws FormatError. */
export async function loadFirmware(input: FirmwareInput, options: LoadOptions = {}): Promise<Firmware> {
  if (typeof input !== 'string') return readFirmware(input.bytes, input.name, options);
  let bytes: Uint8Array;
  try {
    const buf = await readFile(input);
    // A plain Uint8Array view: Buffer's slice() shares memory and compares differently.
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new FormatError(`${input}: cannot read: ${why}`, 'unreadable', input);
  }
  return readFirmware(bytes, input, options);
}

export function readFirmware(bytes: Uint8Array, name: string, options: LoadOptions = {}): Firmware {
  return detectFormat(bytes, name, options).read(bytes, name);
}

export function detectFormat(bytes: Uint8Array, name: string, options: LoadOptions = {}): FirmwareFormat {
  const formats = firmwareFormats(options.formats);
  if (options.kind) {
    const forced = formats.find((f) => f.kind === options.kind);
    if (!forced) throw new FormatError(`unknown firmware kind '${options.kind}' (known: ${formats.map((f) => f.kind).join(', ')})`, 'unknown-kind', name);
    return forced;
  }
  const ext = extname(name).toLowerCase();
  const found = formats.find((f) => f.detect(bytes)) ?? (ext ? formats.find((f) => f.extensions.includes(ext)) : undefined);
  if (found) return found;
  const kinds = formats.filter((f) => f.kind !== 'bin').map((f) => f.description).join(', ');
  throw new FormatError(
    `${name}: cannot tell what kind of firmware this is: it is not ${kinds}; a raw binary needs a .bin name`,
    'unknown-format',
    name,
  );
}

/** Intel HEX is text whose first non-blank character is ':' (a UTF-8 BOM is tolerated). */
function looksLikeIhex(bytes: Uint8Array): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d || bytes[i] === 0x0a)) i++;
  return bytes[i] === 0x3a;
}
