// The I2C bus outside the chip: it outlives resets of the MCU, like the EEPROM soldered to it.
// The TWI master calls it when each bus phase completes; devices see START/STOP (every device
// does, as on a real bus) and the phases addressed to them. Times are simulated seconds.

import type { Rng } from '../util/rng.ts';

export interface I2cDevice {
  /** True if this device owns the 7-bit address (it may still NACK, e.g. while busy). */
  owns(addr7: number): boolean;
  /** A START or repeated START appeared on the bus. */
  start(t: number): void;
  /** Address byte for this device; return true to ACK. */
  addressed(addr7: number, read: boolean, t: number): boolean;
  /** A data byte written by the master; return true to ACK. */
  write(byte: number, t: number): boolean;
  /** The master clocks a byte in and will answer with `ack`. */
  read(ack: boolean, t: number): number;
  /** A STOP appeared on the bus. */
  stop(t: number): void;
  /** Supply lost at time t (a write cycle in progress may tear). */
  powerCut?(t: number, rng: Rng): void;
}

export class I2cBus {
  private readonly devices: I2cDevice[] = [];
  private selected: I2cDevice | null = null;
  /** Number of transactions each 7-bit address acknowledged (for tests and reports). */
  readonly acks = new Map<number, number>();

  attach(device: I2cDevice): void {
    this.devices.push(device);
  }

  detach(device: I2cDevice): void {
    const i = this.devices.indexOf(device);
    if (i >= 0) this.devices.splice(i, 1);
    if (this.selected === device) this.selected = null;
  }

  get attached(): readonly I2cDevice[] {
    return this.devices;
  }

  start(t: number): void {
    this.selected = null;
    for (const d of this.devices) d.start(t);
  }

  address(addr7: number, read: boolean, t: number): boolean {
    this.selected = null;
    for (const d of this.devices) {
      if (d.owns(addr7) && d.addressed(addr7, read, t)) {
        this.selected = d;
        this.acks.set(addr7, (this.acks.get(addr7) ?? 0) + 1);
        return true;
      }
    }
    return false;
  }

  write(byte: number, t: number): boolean {
    return this.selected ? this.selected.write(byte, t) : false;
  }

  /** A byte nobody drives reads as 0xFF (pull-ups). */
  read(ack: boolean, t: number): number {
    return this.selected ? this.selected.read(ack, t) & 0xff : 0xff;
  }

  stop(t: number): void {
    this.selected = null;
    for (const d of this.devices) d.stop(t);
  }

  /** The master went away mid-transaction (reset, TWI disabled): no STOP is seen. */
  abandon(): void {
    this.selected = null;
  }

  powerCut(t: number, rng: Rng): void {
    this.selected = null;
    for (const d of this.devices) d.powerCut?.(t, rng);
  }
}
