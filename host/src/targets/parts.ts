// The parts stageboot knows without avrdude.conf. Figures are from the datasheets and agree
// with avrdude 7.1's /etc/avrdude.conf (a test checks every one against it). avrdude.conf has
// no SRAM sizes, so those come from the datasheets only.

export interface TargetPart {
  /** avrdude's -p id, e.g. "m328p". */
  id: string;
  /** The chip's name as Microchip writes it (avrdude's desc), e.g. "ATmega328P". */
  name: string;
  /** The three signature bytes, 0x1E first. */
  signature: readonly [number, number, number];
  flashSize: number;
  /** Flash page size in bytes (SPM erases and writes one page); 0 for unpaged flash. */
  pageSize: number;
  eepromSize: number;
  sramSize?: number;
  /**
   * Boot section sizes the BOOTSZ fuses select, in words as the datasheets give them,
   * smallest first. Empty for parts without a hardware boot section (ATtiny).
   */
  bootWords: readonly number[];
  source: 'built-in' | 'avrdude.conf';
}

const KiB = 1024;

/** Sizes of a boot section that doubles from `smallest` words, `count` times. */
function bootSizes(smallest: number, count = 4): number[] {
  return Array.from({ length: count }, (_, i) => smallest << i);
}

export const builtInParts: readonly TargetPart[] = [
  { id: 'm328p', name: 'ATmega328P', signature: [0x1e, 0x95, 0x0f], flashSize: 32 * KiB, pageSize: 128, eepromSize: 1 * KiB, sramSize: 2 * KiB, bootWords: bootSizes(256), source: 'built-in' },
  { id: 'm328', name: 'ATmega328', signature: [0x1e, 0x95, 0x14], flashSize: 32 * KiB, pageSize: 128, eepromSize: 1 * KiB, sramSize: 2 * KiB, bootWords: bootSizes(256), source: 'built-in' },
  { id: 'm168', name: 'ATmega168', signature: [0x1e, 0x94, 0x06], flashSize: 16 * KiB, pageSize: 128, eepromSize: 512, sramSize: 1 * KiB, bootWords: bootSizes(128), source: 'built-in' },
  { id: 'm168p', name: 'ATmega168P', signature: [0x1e, 0x94, 0x0b], flashSize: 16 * KiB, pageSize: 128, eepromSize: 512, sramSize: 1 * KiB, bootWords: bootSizes(128), source: 'built-in' },
  { id: 'm1284p', name: 'ATmega1284P', signature: [0x1e, 0x97, 0x05], flashSize: 128 * KiB, pageSize: 256, eepromSize: 4 * KiB, sramSize: 16 * KiB, bootWords: bootSizes(512), source: 'built-in' },
  { id: 'm2560', name: 'ATmega2560', signature: [0x1e, 0x98, 0x01], flashSize: 256 * KiB, pageSize: 256, eepromSize: 4 * KiB, sramSize: 8 * KiB, bootWords: bootSizes(512), source: 'built-in' },
];

/** Boot section sizes in bytes, smallest first. */
export function bootBytes(part: TargetPart): number[] {
  return part.bootWords.map((w) => w * 2);
}

export function formatSignature(sig: ArrayLike<number>): string {
  return Array.from(sig, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}
