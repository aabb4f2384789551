// Turns loaded firmware into a stageboot image for a target part: the one place where HEX,
// ELF or raw input becomes the header + payload that `pack`, `push` and `eeprom build` use.
// It refuses firmware for another chip, or firmware that would overwrite the bootloader,
// since a node would only refuse it later, after the transfer.
import { encodeImage, ImageFlag, makeHeader } from '../../../protocol/ts/index.ts';
import type { Firmware } from '../formats/load.ts';
import { payloadOf } from '../formats/payload.ts';
import { checkFits, checkSignature, type TargetPart } from '../targets/index.ts';

export interface PackOptions {
  bootSize: number;
  appVersion: number;
  buildId?: number;
  confirms: boolean;
}

export interface Packed {
  image: Uint8Array;
  loadAddr: number;
  length: number;
  payloadCrc: number;
  buildId: number;
  headerCrc: number;
  flags: number;
  /** What the image leaves out (EEPROM, fuses, lock bits): the bootloader writes flash only. */
  dropped: string[];
}

/** Checks the firmware against the part and builds the image bytes. Throws TargetError. */
export function packFirmware(fw: Firmware, part: TargetPart, o: PackOptions): Packed {
  checkSignature(part, fw.signature);
  checkFits(part, fw.segments, o.bootSize);
  const { loadAddr, data } = payloadOf(fw.segments, part.pageSize);
  const flags = o.confirms ? ImageFlag.CONFIRMS : 0;
  const header = makeHeader(data, { signature: Uint8Array.from(part.signature), loadAddr, appVersion: o.appVersion, buildId: o.buildId, flags });
  const dropped = [fw.eeprom?.length && 'EEPROM data', fw.fuses?.length && 'fuse bytes', fw.lock?.length && 'lock bits'].filter((x): x is string => !!x);
  return { image: encodeImage({ header, payload: data }), loadAddr, length: data.length, payloadCrc: header.payloadCrc, buildId: header.buildId, headerCrc: header.headerCrc, flags, dropped };
}
