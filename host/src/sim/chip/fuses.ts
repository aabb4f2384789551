// ATmega328P fuse and lock bytes, decoded into what the simulated board acts on.
// Bit values follow the datasheet: a fuse bit is "programmed" when it reads 0.

export interface Fuses {
  low: number;
  high: number;
  extended: number;
  lock: number;
}

/** An Arduino Uno as shipped: 512-byte boot section, BOOTRST programmed, BOD 2.7 V, BLB1 mode 3. */
export const UNO_FUSES: Readonly<Fuses> = { low: 0xff, high: 0xde, extended: 0xfd, lock: 0xcf };

export const FLASH_BYTES = 0x8000;
export const PAGE_BYTES = 128;
/** Start of the no-read-while-write section: the top 4 KiB, whatever BOOTSZ says. */
export const NRWW_START = 0x7000;

/** Boot section starts for BOOTSZ1:0 = 0..3 (largest section first). */
export const BOOT_STARTS = [0x7000, 0x7800, 0x7c00, 0x7e00] as const;

/**
 * Lock byte for a stageboot node: BLB1 mode 2 (lock bits 5:4 = 10). The application may not
 * write the boot section with SPM, but may read it, so a sketch can read the bootloader's
 * version word at 0x7FFE. (An Uno's 0xCF is mode 3, which hides the boot section from LPM.)
 */
export const STAGEBOOT_LOCK = 0xef;

/**
 * Fuses for a board whose bootloader's lowest byte is at `lowest`: BOOTRST programmed and the
 * smallest boot section that holds it, with the rest of an Uno's fuses. Throws when no boot
 * section can start there.
 */
export function fusesForBootloader(lowest: number, lock = UNO_FUSES.lock): Fuses {
  const bootsz = BOOT_STARTS.indexOf(lowest as (typeof BOOT_STARTS)[number]);
  if (bootsz < 0) {
    throw new Error(`a bootloader must start at a boot section (0x7000, 0x7800, 0x7C00 or 0x7E00), not 0x${lowest.toString(16).toUpperCase()}`);
  }
  return { ...UNO_FUSES, high: 0xd8 | (bootsz << 1), lock };
}

/** Byte address where the boot section begins (BOOTSZ1:0 = high fuse bits 2:1). */
export function bootStart(f: Fuses): number {
  return BOOT_STARTS[(f.high >> 1) & 3];
}

/** BOOTRST programmed: the reset vector is the start of the boot section, not 0. */
export function resetVector(f: Fuses): number {
  return f.high & 1 ? 0 : bootStart(f);
}

/** WDTON programmed: the watchdog is always on in system-reset mode. */
export function watchdogAlwaysOn(f: Fuses): boolean {
  return (f.high & 0x10) === 0;
}

/** CKDIV8 programmed (not modelled: give the effective clock as clockHz). */
export function ckdiv8(f: Fuses): boolean {
  return (f.low & 0x80) === 0;
}

/** BOD enabled: BODLEVEL2:0 (extended fuse bits 2:0) other than 111. */
export function brownOutEnabled(f: Fuses): boolean {
  return (f.extended & 7) !== 7;
}

/**
 * Boot lock bits as protection rules. BLB0 (lock bits 3:2) guards the application section,
 * BLB1 (lock bits 5:4) the boot section. Modes per datasheet table "Boot Lock Bit Protection".
 */
export interface LockRules {
  /** SPM may not erase/write pages of the application section (BLB0 mode 2 or 3). */
  spmAppLocked: boolean;
  /** SPM may not erase/write pages of the boot section (BLB1 mode 2 or 3). */
  spmBootLocked: boolean;
  /** LPM executed from the boot section may not read the application section (BLB0 mode 3/4). */
  lpmAppFromBootLocked: boolean;
  /** LPM executed from the application section may not read the boot section (BLB1 mode 3/4). */
  lpmBootFromAppLocked: boolean;
}

export function lockRules(f: Fuses): LockRules {
  const blb0 = (f.lock >> 2) & 3;
  const blb1 = (f.lock >> 4) & 3;
  // Encodings: 0b11 mode 1 (free), 0b10 mode 2 (no SPM), 0b00 mode 3 (no SPM, no LPM), 0b01 mode 4 (no LPM).
  return {
    spmAppLocked: blb0 === 0b10 || blb0 === 0b00,
    spmBootLocked: blb1 === 0b10 || blb1 === 0b00,
    lpmAppFromBootLocked: blb0 === 0b00 || blb0 === 0b01,
    lpmBootFromAppLocked: blb1 === 0b00 || blb1 === 0b01,
  };
}

export function withDefaults(f: Partial<Fuses> | undefined): Fuses {
  return { ...UNO_FUSES, ...f };
}
