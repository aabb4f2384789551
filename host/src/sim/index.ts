// Public API of the simulated stageboot node. See README.md in this folder.
export { SimNode, type SimNodeOptions, type ResetCause, type FlashOpListener } from './node.ts';
export { type FlashOpEvent, type FlashOpKind } from './chip/spm.ts';
export {
  UNO_FUSES,
  FLASH_BYTES,
  PAGE_BYTES,
  NRWW_START,
  bootStart,
  resetVector,
  lockRules,
  type Fuses,
  type LockRules,
} from './chip/fuses.ts';
export { PORF, EXTRF, BORF, WDRF } from './chip/watchdog.ts';
export { RAMEND, SRAM_START, SRAM_BYTES, type PortName } from './chip/atmega328p.ts';
export { HostUart, type DataListener } from './uart.ts';
export { sampleFrame, FORMAT_8N1, type FrameFormat } from './chip/uart-frame.ts';
export { I2cBus, type I2cDevice } from './i2c-bus.ts';
export { Eeprom24, type Eeprom24Options, type Eeprom24Model } from './parts/eeprom24.ts';
export { Pin, type PinMode, type Level } from './pins.ts';
export { SerialFaults, type SerialFaultOptions, type SerialDirection } from './serial-faults.ts';
export { seededRng, type Rng } from '../util/rng.ts';
export { Scheduler } from './scheduler.ts';
