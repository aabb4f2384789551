// The flash figures of a node. Protocol 2's INFO names the chip by its signature only (the
// node's 3 KiB budget): the host looks the part up in its parts table and puts the application
// area's end where the stageboot bootloader's boot section starts. These figures only let the
// host refuse an image early, with nothing sent; the bootloader checks every image again.
import { BL_SECTION_BYTES } from '../../../protocol/ts/index.ts';
import { lookupTarget } from '../targets/index.ts';

/** The ATmega328P's flash: what the node is built for, and the figure for an unknown part. */
const ATMEGA328P_FLASH = 0x8000;

export interface NodeFlash {
  /** Flash size of the part the signature names. */
  flashSize: number;
  /** Largest application: flashSize − BL_SECTION_BYTES. */
  appMax: number;
}

export function nodeFlash(signature: ArrayLike<number>): NodeFlash {
  let flashSize = ATMEGA328P_FLASH;
  try {
    flashSize = lookupTarget(signature)?.flashSize ?? ATMEGA328P_FLASH;
  } catch {
    // An unreadable avrdude.conf: keep the ATmega328P's figure.
  }
  return { flashSize, appMax: flashSize - BL_SECTION_BYTES };
}
