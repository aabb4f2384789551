// Watchdog timer and MCUSR of the ATmega328P, replacing avr8js's AVRWatchdog (which resets
// only PC/SP in place and ignores WDRF). Modelled per datasheet "Watchdog Timer":
// - 128 kHz oscillator, time-out 2K..1024K oscillator cycles (16 ms .. 8 s) from WDP3:0.
// - Modes: interrupt (WDIE), system reset (WDE), interrupt then reset (both: the hardware
//   clears WDIE on the first time-out, the next one resets).
// - Changing WDP or clearing WDE needs the timed sequence (WDCE|WDE, then the new value within
//   4 cycles). WDE can be set and WDIE changed at any time.
// - The counter runs from the last WDR (or from enabling); a new WDP does not restart it, the
//   time-out comes when it reaches the new period (at once if it already has).
// - WDRF in MCUSR forces WDE: after a watchdog reset the watchdog keeps running (16 ms) until
//   firmware clears WDRF and then WDE. WDTON (fuse) forces system-reset mode.
// - MCUSR flags are cleared by writing 0; writing 1 leaves them unchanged.
// A time-out in reset mode calls `onReset`; the board rebuilds the chip.

import type { CPU } from 'avr8js';

export const MCUSR = 0x54;
export const WDTCSR = 0x60;
export const PORF = 0x01;
export const EXTRF = 0x02;
export const BORF = 0x04;
export const WDRF = 0x08;

const WDIF = 0x80;
const WDIE = 0x40;
const WDP3 = 0x20;
const WDCE = 0x10;
const WDE = 0x08;
const WDP210 = 0x07;
const WDP_MASK = WDP3 | WDP210;
const OSC_HZ = 128_000;
const CHANGE_WINDOW = 4;

export class Watchdog {
  private changeUntil = -Infinity;
  /** Cycle at which the watchdog counter was last cleared. */
  private counterStart: number;
  private scheduled = false;
  /** Number of WDR instructions seen (handy in tests). */
  wdrCount = 0;

  private readonly wdtInt = { address: 0x0c, flagRegister: WDTCSR, flagMask: WDIF, enableRegister: WDTCSR, enableMask: WDIE };

  constructor(
    private readonly cpu: CPU,
    private readonly clockHz: number,
    private readonly alwaysOn: boolean,
    mcusr: number,
    private readonly onReset: () => void,
  ) {
    cpu.data[MCUSR] = mcusr;
    cpu.data[WDTCSR] = this.forcedWde() ? WDE : 0;
    this.counterStart = cpu.cycles;
    cpu.writeHooks[MCUSR] = (v) => {
      cpu.data[MCUSR] &= v & 0x0f;
      return true;
    };
    cpu.writeHooks[WDTCSR] = (v) => {
      this.writeWdtcsr(v);
      return true;
    };
    // WDCE clears by itself four cycles after it was set.
    cpu.readHooks[WDTCSR] = () => {
      if (cpu.cycles > this.changeUntil) cpu.data[WDTCSR] &= ~WDCE;
      return cpu.data[WDTCSR];
    };
    cpu.onWatchdogReset = () => {
      this.wdrCount++;
      this.counterStart = cpu.cycles;
    };
    this.arm();
  }

  get enabled(): boolean {
    return (this.cpu.data[WDTCSR] & (WDE | WDIE)) !== 0;
  }

  /** Time-out in CPU cycles for the current WDP setting. */
  get timeoutCycles(): number {
    const v = this.cpu.data[WDTCSR];
    const wdp = ((v & WDP3) >> 2) | (v & WDP210);
    return Math.round(((2048 << Math.min(wdp, 9)) / OSC_HZ) * this.clockHz);
  }

  private forcedWde(): boolean {
    return this.alwaysOn || (this.cpu.data[MCUSR] & WDRF) !== 0;
  }

  private writeWdtcsr(v: number): void {
    const { cpu } = this;
    const old = cpu.data[WDTCSR];
    let next = (old & ~(WDIE | WDCE)) | (v & WDIE);
    if (v & WDIF) next &= ~WDIF; // writing one clears the flag
    if (v & WDCE && v & WDE) {
      this.changeUntil = cpu.cycles + CHANGE_WINDOW;
      next |= WDE | WDCE;
    } else if (cpu.cycles <= this.changeUntil) {
      this.changeUntil = -Infinity;
      next = (next & ~(WDE | WDP_MASK)) | (v & (WDE | WDP_MASK));
    } else if (v & WDE) {
      next |= WDE;
    }
    if (this.forcedWde()) next |= WDE;
    const wasEnabled = this.enabled;
    cpu.data[WDTCSR] = next;
    if (v & WDIF) cpu.clearInterrupt(this.wdtInt);
    cpu.updateInterruptEnable(this.wdtInt, next);
    if (!wasEnabled && this.enabled) this.counterStart = cpu.cycles;
    this.arm();
  }

  /**
   * (Re)schedule the time-out check for the current period. A WDTCSR write may shorten the
   * period or restart the counter, so the pending check is replaced rather than kept: the
   * counter runs on from the last WDR (or enable) and the time-out comes when it reaches the
   * new period, at once if it is already past (a WDR only moves the deadline later, which
   * check() handles by re-arming).
   */
  private arm(): void {
    if (this.scheduled) this.cpu.clearClockEvent(this.check);
    this.scheduled = this.enabled;
    if (this.enabled) this.cpu.addClockEvent(this.check, Math.max(1, this.counterStart + this.timeoutCycles - this.cpu.cycles));
  }

  private readonly check = (): void => {
    this.scheduled = false;
    const { cpu } = this;
    if (!this.enabled) return;
    const deadline = this.counterStart + this.timeoutCycles;
    if (cpu.cycles < deadline) return this.arm(); // a WDR moved the deadline
    const v = cpu.data[WDTCSR];
    this.counterStart = cpu.cycles;
    if (v & WDIE) {
      cpu.setInterruptFlag(this.wdtInt);
      if (v & WDE) cpu.data[WDTCSR] &= ~WDIE; // interrupt-and-reset mode: next time-out resets
      return this.arm();
    }
    if (v & WDE) return this.onReset();
    this.arm();
  };
}
