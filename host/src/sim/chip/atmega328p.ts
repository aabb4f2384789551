// One power-up (or reset) of the ATmega328P: a fresh avr8js CPU with 2 KiB SRAM and every
// peripheral in its reset state, over the board's flash, internal EEPROM and I2C bus, which
// outlive it. avr8js resets only PC/SP in place, so the board builds a new Atmega328p for each
// reset instead.

import {
  AVRClock,
  AVREEPROM,
  AVRIOPort,
  AVRSPI,
  AVRTimer,
  CPU,
  eepromConfig,
  portBConfig,
  portCConfig,
  portDConfig,
  spiConfig,
  timer0Config,
  timer1Config,
  timer2Config,
  type EEPROMBackend,
} from 'avr8js';
import { SelfProgramming, type SpmHost } from './spm.ts';
import { Usart0, type UsartCounters, type UsartSink } from './usart.ts';
import { Twi } from './twi.ts';
import { Watchdog } from './watchdog.ts';
import { watchdogAlwaysOn, type Fuses } from './fuses.ts';
import type { I2cBus } from '../i2c-bus.ts';

export const SRAM_BYTES = 2048;
export const RAMEND = 0x8ff;
export const SRAM_START = 0x100;
export const EEPROM_BYTES = 1024;

export type PortName = 'B' | 'C' | 'D';

export interface ChipEnv {
  flash: Uint8Array;
  fuses: Fuses;
  clockHz: number;
  eepromBackend: EEPROMBackend;
  bus: I2cBus;
  usartCounters: UsartCounters;
  usartSink: UsartSink;
  spmHost: SpmHost;
  /** Board time in seconds (for I2C devices). */
  now(): number;
  onWatchdogReset(): void;
}

export class Atmega328p {
  readonly cpu: CPU;
  readonly ports: Record<PortName, AVRIOPort>;
  readonly timers: AVRTimer[];
  readonly usart: Usart0;
  readonly twi: Twi;
  readonly spm: SelfProgramming;
  readonly watchdog: Watchdog;
  readonly clock: AVRClock;
  readonly eeprom: AVREEPROM;
  readonly spi: AVRSPI;

  constructor(env: ChipEnv, startCycle: number, mcusr: number, resetVectorByte: number) {
    const progMem = new Uint16Array(env.flash.buffer, env.flash.byteOffset, env.flash.length / 2);
    const cpu = new CPU(progMem, SRAM_BYTES);
    cpu.cycles = startCycle;
    this.cpu = cpu;
    this.clock = new AVRClock(cpu, env.clockHz);
    this.ports = {
      B: new AVRIOPort(cpu, portBConfig),
      C: new AVRIOPort(cpu, portCConfig),
      D: new AVRIOPort(cpu, portDConfig),
    };
    this.timers = [timer0Config, timer1Config, timer2Config].map((c) => new AVRTimer(cpu, c));
    this.usart = new Usart0(cpu, env.usartSink, env.usartCounters);
    this.twi = new Twi(cpu, env.bus, env.clockHz, env.now);
    this.spi = new AVRSPI(cpu, spiConfig, env.clockHz);
    const cyc = (s: number) => Math.round(s * env.clockHz);
    // tEEWR is 3.4 ms for an atomic erase+write: split evenly between the two halves.
    this.eeprom = new AVREEPROM(cpu, env.eepromBackend, { ...eepromConfig, eraseCycles: cyc(1.7e-3), writeCycles: cyc(1.7e-3) });
    this.spm = new SelfProgramming(cpu, env.spmHost);
    this.watchEepromWrites();
    this.watchdog = new Watchdog(cpu, env.clockHz, watchdogAlwaysOn(env.fuses), mcusr, env.onWatchdogReset);
    cpu.pc = resetVectorByte >> 1;
  }

  /** An internal EEPROM write erases the SPM page buffer, so tell the SPM unit when one starts. */
  private watchEepromWrites(): void {
    const { cpu } = this;
    const EECR = eepromConfig.EECR;
    const EEPE = 0x02;
    const inner = cpu.writeHooks[EECR];
    cpu.writeHooks[EECR] = (value, old, addr, mask) => {
      const wasWriting = cpu.data[EECR] & EEPE;
      const handled = inner(value, old, addr, mask);
      if (!wasWriting && cpu.data[EECR] & EEPE) this.spm.eepromWriteStarted();
      return handled;
    };
  }

  get sp(): number {
    return this.cpu.data[0x5d] | (this.cpu.data[0x5e] << 8);
  }
}
