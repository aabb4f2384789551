// Pins of the board as the outside world sees them: read what the chip drives (an LED on
// PB5 / D13), drive an input (a button), or pull RESET low. What the outside drives is kept by
// the board and re-applied after every chip reset, since the wiring outlives the chip.

import { PinState, type AVRIOPort } from 'avr8js';
import type { PortName } from './chip/atmega328p.ts';

export type PinName = `P${PortName}${number}` | `D${number}` | `A${number}` | 'RESET';
export type PinMode = 'output' | 'input' | 'input-pullup';
export type Level = 0 | 1;

/** What a Pin needs from the board. */
export interface PinBoard {
  port(name: PortName): AVRIOPort | null;
  /** Level driven from outside, or undefined if the pin is left floating. */
  driven(pin: string): Level | undefined;
  setDriven(pin: string, level: Level | undefined): void;
  addPinListener(pin: string, cb: (level: Level) => void): () => void;
}

/** Arduino Uno pin numbers to ports: D0-D7 = PD0-7, D8-D13 = PB0-5, A0-A5 = PC0-5. */
export function resolvePin(name: string): { port: PortName; bit: number } | 'RESET' {
  if (name === 'RESET') return 'RESET';
  let m = /^P([BCD])([0-7])$/.exec(name);
  if (m) return { port: m[1] as PortName, bit: Number(m[2]) };
  m = /^D(\d+)$/.exec(name);
  if (m && Number(m[1]) <= 13) {
    const n = Number(m[1]);
    return n < 8 ? { port: 'D', bit: n } : { port: 'B', bit: n - 8 };
  }
  m = /^A([0-5])$/.exec(name);
  if (m) return { port: 'C', bit: Number(m[1]) };
  throw new Error(`unknown pin ${name}`);
}

/** Canonical name (PB5 for D13) so aliases share drive state and listeners. */
export function canonicalPin(name: string): string {
  const r = resolvePin(name);
  return r === 'RESET' ? r : `P${r.port}${r.bit}`;
}

export class Pin {
  readonly name: string;

  constructor(
    private readonly board: PinBoard,
    name: string,
  ) {
    this.name = canonicalPin(name);
  }

  get mode(): PinMode {
    const r = resolvePin(this.name);
    if (r === 'RESET') return 'input-pullup';
    const state = this.board.port(r.port)?.pinState(r.bit);
    if (state === PinState.High || state === PinState.Low) return 'output';
    return state === PinState.InputPullUp ? 'input-pullup' : 'input';
  }

  /** The level on the pin: chip output, else outside drive, else pull-up (1), else null (floating). */
  get level(): Level | null {
    const r = resolvePin(this.name);
    const driven = this.board.driven(this.name);
    if (r === 'RESET') return driven ?? 1;
    const port = this.board.port(r.port);
    if (!port) return driven ?? null; // chip unpowered: nothing drives the pin
    const state = port.pinState(r.bit);
    if (state === PinState.High) return 1;
    if (state === PinState.Low) return 0;
    if (driven !== undefined) return driven;
    return state === PinState.InputPullUp ? 1 : null;
  }

  get high(): boolean {
    return this.level === 1;
  }

  /** Drive the pin from outside (0/1), or release it (undefined). RESET low holds the chip in reset. */
  drive(level: Level | boolean | undefined): void {
    const l = level === undefined ? undefined : level ? 1 : 0;
    this.board.setDriven(this.name, l as Level | undefined);
  }

  release(): void {
    this.drive(undefined);
  }

  /** Called when the level the chip outputs changes; returns an unsubscribe function. */
  onChange(cb: (level: Level) => void): () => void {
    return this.board.addPinListener(this.name, cb);
  }
}
