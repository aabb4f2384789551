// Firmware input formats: Intel HEX, ELF, raw binary and stageboot image files, read into one
// sparse memory model. Start at loadFirmware(); the readers are exported for direct use.
export * from './errors.ts';
export * from './memory.ts';
export { parseIhex, writeIhex, type IhexImage, type IhexWriteOptions } from './ihex.ts';
export { parseElf, isElf, AVR_OFFSETS, type ElfImage } from './elf.ts';
export { parseBin } from './bin.ts';
export { imageFormat, imageHeaderOf } from './image.ts';
export { payloadOf, type Payload } from './payload.ts';
export {
  loadFirmware,
  readFirmware,
  detectFormat,
  registerFirmwareFormat,
  firmwareFormats,
  type Firmware,
  type FirmwareFormat,
  type FirmwareInput,
  type FirmwareKind,
  type LoadOptions,
} from './load.ts';
