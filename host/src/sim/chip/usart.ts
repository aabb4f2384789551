// USART0 of the ATmega328P, replacing avr8js's AVRUSART on the same registers. avr8js keeps
// one received byte and silently overwrites it; silicon has a two-character receive FIFO plus
// the receive shift register, and flags a data overrun (DOR0) when a third character is
// waiting in the shift register and a fourth start bit arrives. This model keeps that
// structure, the double-buffered transmitter (UDR0 + shift register) and frame timing from
// UBRR0/U2X0/UCSZ/USBS. Parity and 9-bit characters are not modelled.

import type { CPU } from 'avr8js';
import { sampleFrame, type FrameFormat } from './uart-frame.ts';

const UCSR0A = 0xc0;
const UCSR0B = 0xc1;
const UCSR0C = 0xc2;
const UBRR0L = 0xc4;
const UBRR0H = 0xc5;
const UDR0 = 0xc6;

const RXC = 0x80;
const TXC = 0x40;
const UDRE = 0x20;
const FE = 0x10;
const DOR = 0x08;
const U2X = 0x02;
const MPCM = 0x01;

const RXCIE = 0x80;
const TXCIE = 0x40;
const UDRIE = 0x20;
const RXEN = 0x10;
const TXEN = 0x08;
const UCSZ2 = 0x04;

const USBS = 0x08;

interface RxEntry {
  value: number;
  fe: boolean;
  dor: boolean;
}

/** Where transmitted frames go: the byte and the node's bit time in cycles. */
export type UsartSink = (byte: number, bitCycles: number, format: FrameFormat) => void;

export interface UsartCounters {
  /** Frames lost to a data overrun. */
  overruns: number;
  /** Frames that arrived while the receiver was disabled. */
  droppedDisabled: number;
  /** Frames received with a framing error (bad stop bit, e.g. a baud mismatch). */
  frameErrors: number;
}

export class Usart0 {
  private readonly fifo: RxEntry[] = [];
  private shiftWaiting: RxEntry | null = null;
  private pendingDor = false;
  private txShiftBusy = false;
  private txBuffer: number | null = null;

  private readonly rxcInt = { address: 0x24, flagRegister: UCSR0A, flagMask: RXC, enableRegister: UCSR0B, enableMask: RXCIE, constant: true };
  private readonly udreInt = { address: 0x26, flagRegister: UCSR0A, flagMask: UDRE, enableRegister: UCSR0B, enableMask: UDRIE, constant: true };
  private readonly txcInt = { address: 0x28, flagRegister: UCSR0A, flagMask: TXC, enableRegister: UCSR0B, enableMask: TXCIE };

  constructor(
    private readonly cpu: CPU,
    private readonly sink: UsartSink,
    /** Shared with the board so counts survive a reset. */
    readonly counters: UsartCounters,
  ) {
    const d = cpu.data;
    d[UCSR0A] = UDRE;
    d[UCSR0B] = 0;
    d[UCSR0C] = 0x06; // 8 data bits
    d[UBRR0L] = 0;
    d[UBRR0H] = 0;
    cpu.writeHooks[UCSR0A] = (v) => this.writeUcsra(v);
    cpu.writeHooks[UCSR0B] = (v, old) => this.writeUcsrb(v, old);
    cpu.writeHooks[UCSR0C] = (v) => {
      d[UCSR0C] = v;
      return true;
    };
    cpu.writeHooks[UBRR0H] = (v) => {
      d[UBRR0H] = v & 0x0f;
      return true;
    };
    cpu.readHooks[UCSR0A] = () => this.readUcsra();
    cpu.readHooks[UDR0] = () => this.readUdr();
    cpu.writeHooks[UDR0] = (v) => this.writeUdr(v);
  }

  /** Bit time in CPU cycles, from UBRR0 and U2X0. */
  get bitCycles(): number {
    const ubrr = (this.cpu.data[UBRR0H] << 8) | this.cpu.data[UBRR0L];
    return (ubrr + 1) * (this.cpu.data[UCSR0A] & U2X ? 8 : 16);
  }

  get format(): FrameFormat {
    const ucsz = ((this.cpu.data[UCSR0C] >> 1) & 3) | (this.cpu.data[UCSR0B] & UCSZ2);
    return { dataBits: Math.min(5 + ucsz, 8), stopBits: this.cpu.data[UCSR0C] & USBS ? 2 : 1 };
  }

  get rxEnabled(): boolean {
    return (this.cpu.data[UCSR0B] & RXEN) !== 0;
  }

  /** Frames the receiver holds (FIFO plus a completed frame waiting in the shift register). */
  get rxHeld(): number {
    return this.fifo.length + (this.shiftWaiting ? 1 : 0);
  }

  /** A start bit arrives on RXD. A frame still waiting in the shift register is lost. */
  rxStartBit(): void {
    if (!this.rxEnabled) return;
    if (this.shiftWaiting) {
      this.shiftWaiting = null;
      this.pendingDor = true;
      this.counters.overruns++;
    }
  }

  /** A frame finished arriving, sent with bit time `txBitCycles` (cycles, maybe fractional). */
  rxFrame(byte: number, txBitCycles: number): void {
    if (!this.rxEnabled) {
      this.counters.droppedDisabled++;
      return;
    }
    const { value, frameError } = sampleFrame(byte, txBitCycles, this.bitCycles, this.format);
    if (frameError) this.counters.frameErrors++;
    const entry = { value, fe: frameError, dor: this.pendingDor };
    this.pendingDor = false;
    if (this.fifo.length < 2) {
      this.fifo.push(entry);
      this.cpu.setInterruptFlag(this.rxcInt);
    } else {
      this.shiftWaiting = entry;
    }
  }

  private readUcsra(): number {
    const head = this.fifo[0];
    let v = this.cpu.data[UCSR0A] & ~(FE | DOR);
    if (head) v |= (head.fe ? FE : 0) | (head.dor ? DOR : 0);
    return v;
  }

  private readUdr(): number {
    const head = this.fifo.shift();
    if (this.shiftWaiting) {
      this.fifo.push(this.shiftWaiting);
      this.shiftWaiting = null;
    }
    if (this.fifo.length === 0) this.cpu.clearInterrupt(this.rxcInt);
    return head ? head.value : 0;
  }

  private writeUcsra(v: number): boolean {
    const d = this.cpu.data;
    d[UCSR0A] = (d[UCSR0A] & (RXC | TXC | UDRE)) | (v & (U2X | MPCM));
    this.cpu.clearInterruptByFlag(this.txcInt, v); // writing 1 to TXC0 clears it
    return true;
  }

  private writeUcsrb(v: number, old: number): boolean {
    const { cpu } = this;
    cpu.data[UCSR0B] = v;
    if (!(v & RXEN) && old & RXEN) this.flushRx();
    // Clearing TXEN0 takes effect only after the frames in progress and buffered are sent.
    cpu.updateInterruptEnable(this.rxcInt, v);
    cpu.updateInterruptEnable(this.udreInt, v);
    cpu.updateInterruptEnable(this.txcInt, v);
    return true;
  }

  private flushRx(): void {
    this.fifo.length = 0;
    this.shiftWaiting = null;
    this.pendingDor = false;
    this.cpu.clearInterrupt(this.rxcInt);
  }

  private writeUdr(v: number): boolean {
    const { cpu } = this;
    if (!(cpu.data[UCSR0B] & TXEN) || !(cpu.data[UCSR0A] & UDRE)) return true; // ignored on silicon
    if (!this.txShiftBusy) {
      this.startFrame(v);
    } else {
      this.txBuffer = v;
      cpu.clearInterrupt(this.udreInt); // clears UDRE0
    }
    return true;
  }

  private startFrame(v: number): void {
    const { cpu } = this;
    this.txShiftBusy = true;
    cpu.clearInterrupt(this.txcInt);
    const format = this.format;
    const bitCycles = this.bitCycles;
    const frameCycles = bitCycles * (1 + format.dataBits + format.stopBits);
    cpu.addClockEvent(() => this.frameSent(v, bitCycles, format), frameCycles);
  }

  private frameSent(v: number, bitCycles: number, format: FrameFormat): void {
    const { cpu } = this;
    this.txShiftBusy = false;
    this.sink(v, bitCycles, format);
    if (this.txBuffer !== null) {
      const next = this.txBuffer;
      this.txBuffer = null;
      this.startFrame(next);
      cpu.setInterruptFlag(this.udreInt);
    } else {
      cpu.setInterruptFlag(this.txcInt);
    }
  }
}
