// Target parts: finding one by name or signature, and checking that a firmware image is for
// it and fits beside the bootloader.
import { extent, hex, type Segment } from '../formats/memory.ts';
import { loadAvrdudeParts } from './avrdude-conf.ts';
import { TargetError } from './errors.ts';
import { bootBytes, builtInParts, formatSignature, type TargetPart } from './parts.ts';

export { TargetError } from './errors.ts';
export { bootBytes, builtInParts, formatSignature, type TargetPart } from './parts.ts';
export { loadAvrdudeParts, parseAvrdudeConf, confPartToTarget } from './avrdude-conf.ts';

export type TargetQuery = string | ArrayLike<number>;

export interface FindOptions {
  /** An avrdude.conf to consult after the built-in parts; false to consult none. */
  avrdudeConf?: string | false;
}

/** Accepts "1E 95 0F", "1e950f", "0x1e 0x95 0x0f", "1E:95:0F". */
export function parseSignature(text: string): [number, number, number] | undefined {
  const m = /^\s*(?:0x)?([0-9a-f]{2})[\s:,-]*(?:0x)?([0-9a-f]{2})[\s:,-]*(?:0x)?([0-9a-f]{2})\s*$/i.exec(text);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : undefined;
}

function sameSignature(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === 3 && b.length === 3 && a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/**
 * The part named by avrdude id ("m328p"), name ("ATmega328P", any case) or signature bytes,
 * built-in parts first, then avrdude.conf. Undefined when nothing matches.
 */
export function lookupTarget(query: TargetQuery, options: FindOptions = {}): TargetPart | undefined {
  const sig = typeof query === 'string' ? parseSignature(query) : query;
  const name = typeof query === 'string' ? query.trim().toLowerCase() : undefined;
  const matches = (p: TargetPart) => (sig ? sameSignature(p.signature, sig) : p.id.toLowerCase() === name || p.name.toLowerCase() === name);
  const builtIn = builtInParts.find(matches);
  if (builtIn || options.avrdudeConf === false) return builtIn;
  return loadAvrdudeParts(options.avrdudeConf || undefined).find(matches);
}

/** Like lookupTarget, but an unknown part is a TargetError that says where it looked. */
export function findTarget(query: TargetQuery, options: FindOptions = {}): TargetPart {
  const found = lookupTarget(query, options);
  if (found) return found;
  const what = typeof query === 'string' ? `'${query}'` : `signature ${formatSignature(query)}`;
  const known = builtInParts.map((p) => p.id).join(', ');
  const conf = options.avrdudeConf === false ? '' : loadAvrdudeParts(options.avrdudeConf || undefined).length ? ' or in avrdude.conf' : ' (no avrdude.conf found to look further)';
  throw new TargetError(`unknown part ${what}: not among the built-in parts (${known})${conf}`, 'unknown-target', { query: what });
}

export interface FitReport {
  target: string;
  /** First and one-past-last flash address the image programs. */
  imageStart: number;
  imageEnd: number;
  /** Bytes the image actually holds (gaps not counted). */
  imageBytes: number;
  /** Where the application area ends: the bootloader's first address. */
  bootStart: number;
  bootBytes: number;
  /** Bytes left between the end of the image and the bootloader. */
  free: number;
  /** Flash pages the image touches (each needs an erase and a write). */
  pages: number;
}

/**
 * Checks that flash segments stay below the bootloader (`bootloaderBytes` at the top of
 * flash; 0 for none). Returns the figures, or throws TargetError 'image-too-big'.
 */
export function checkFits(target: TargetPart, segments: readonly Segment[], bootloaderBytes: number): FitReport {
  checkBootSize(target, bootloaderBytes);
  const bootStart = target.flashSize - bootloaderBytes;
  const ext = extent(segments) ?? { start: 0, end: 0 };
  const report: FitReport = {
    target: target.name,
    imageStart: ext.start,
    imageEnd: ext.end,
    imageBytes: segments.reduce((n, s) => n + s.data.length, 0),
    bootStart,
    bootBytes: bootloaderBytes,
    free: bootStart - ext.end,
    pages: countPages(segments, target.pageSize),
  };
  if (ext.end > bootStart) {
    const over = ext.end - bootStart;
    const limit = bootloaderBytes
      ? `the ${target.name} bootloader starts at ${hex(bootStart)} (${bootloaderBytes}-byte boot section)`
      : `the ${target.name} has ${target.flashSize} bytes of flash (ends at ${hex(bootStart)})`;
    throw new TargetError(`image ends at ${hex(ext.end)}, but ${limit}: ${over} bytes too big`, 'image-too-big', { ...report, over });
  }
  return report;
}

/** EEPROM contents must fit the part's EEPROM. */
export function checkEepromFits(target: TargetPart, eeprom: readonly Segment[]): void {
  const ext = extent(eeprom);
  if (ext && ext.end > target.eepromSize) {
    throw new TargetError(
      `EEPROM data ends at ${hex(ext.end)}, but the ${target.name} has ${target.eepromSize} bytes of EEPROM: ${ext.end - target.eepromSize} bytes too big`,
      'eeprom-too-big',
      { eepromEnd: ext.end, eepromSize: target.eepromSize },
    );
  }
}

/** A boot section must be one the BOOTSZ fuses can select (or a whole number of pages on parts without one). */
function checkBootSize(target: TargetPart, bytes: number): void {
  const choices = bootBytes(target);
  const ok = Number.isInteger(bytes) && bytes >= 0 && bytes <= target.flashSize && (bytes === 0 || (choices.length ? choices.includes(bytes) : target.pageSize > 0 && bytes % target.pageSize === 0));
  if (ok) return;
  const want = choices.length ? `one of its boot section sizes: ${choices.join(', ')} bytes` : `a multiple of its ${target.pageSize}-byte page`;
  throw new TargetError(`a ${bytes}-byte bootloader does not suit the ${target.name}: use 0 (none) or ${want}`, 'bad-boot-size', { bootloaderBytes: bytes, choices });
}

function countPages(segments: readonly Segment[], pageSize: number): number {
  if (pageSize <= 0) return 0;
  const pages = new Set<number>();
  for (const s of segments) {
    for (let p = Math.floor(s.address / pageSize); p * pageSize < s.address + s.data.length; p++) pages.add(p);
  }
  return pages.size;
}

export interface SignatureCheck {
  /** False when the firmware carries no signature (HEX and bin files never do). */
  checked: boolean;
  /** The part the signature names, when known. */
  builtFor?: string;
}

/** Throws TargetError 'wrong-target' when the firmware was built for another chip. */
export function checkSignature(target: TargetPart, signature: ArrayLike<number> | undefined, options: FindOptions = {}): SignatureCheck {
  if (!signature || signature.length === 0) return { checked: false };
  const builtFor = lookupTarget(signature, options)?.name;
  if (!sameSignature(target.signature, signature)) {
    const other = builtFor ? `${builtFor} (signature ${formatSignature(signature)})` : `a chip with signature ${formatSignature(signature)}`;
    throw new TargetError(`firmware was built for ${other}, not for the ${target.name} (${formatSignature(target.signature)})`, 'wrong-target', {
      expected: formatSignature(target.signature),
      found: formatSignature(signature),
      builtFor,
    });
  }
  return { checked: true, builtFor: target.name };
}
