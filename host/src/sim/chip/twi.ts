// TWI (I2C master) of the ATmega328P, replacing avr8js's AVRTWI on the same registers.
// Fixes the gaps measured in FACTS.md:
// - Writing TWSR changes only the prescaler bits (TWPS1:0); the status bits are read-only.
// - Each bus phase takes bus time: SCL = F_CPU / (16 + 2 * TWBR * 4^TWPS); an address or data
//   byte is 9 SCL periods, START, repeated START and STOP one period each.
// - After a STOP, TWSTO clears and TWINT stays clear (silicon does not flag a STOP).
// - TWINT is level-triggered: running the TWI vector does not clear it.
// - Writing TWDR while TWINT is low sets TWWC and is ignored.
// Master mode only; slave mode, arbitration and bus errors are not modelled.

import type { CPU } from 'avr8js';
import type { I2cBus } from '../i2c-bus.ts';

const TWBR = 0xb8;
const TWSR = 0xb9;
const TWDR = 0xbb;
const TWCR = 0xbc;

const TWINT = 0x80;
const TWEA = 0x40;
const TWSTA = 0x20;
const TWSTO = 0x10;
const TWWC = 0x08;
const TWEN = 0x04;
const TWIE = 0x01;
const CONTROL_BITS = TWEA | TWSTA | TWSTO | TWEN | TWIE;

export const TW_START = 0x08;
export const TW_REP_START = 0x10;
export const TW_MT_SLA_ACK = 0x18;
export const TW_MT_SLA_NACK = 0x20;
export const TW_MT_DATA_ACK = 0x28;
export const TW_MT_DATA_NACK = 0x30;
export const TW_MR_SLA_ACK = 0x40;
export const TW_MR_SLA_NACK = 0x48;
export const TW_MR_DATA_ACK = 0x50;
export const TW_MR_DATA_NACK = 0x58;
export const TW_NO_INFO = 0xf8;

type Phase = 'start' | 'stop' | 'stop-start' | 'address' | 'write' | 'read';

export class Twi {
  private busy = false;
  /** True between our START and our STOP. */
  private ownsBus = false;
  private readonly twiInt = { address: 0x30, flagRegister: TWCR, flagMask: TWINT, enableRegister: TWCR, enableMask: TWIE, constant: true };

  constructor(
    private readonly cpu: CPU,
    private readonly bus: I2cBus,
    private readonly clockHz: number,
    private readonly now: () => number,
  ) {
    const d = cpu.data;
    d[TWSR] = TW_NO_INFO;
    d[TWDR] = 0xff;
    d[TWCR] = 0;
    cpu.writeHooks[TWSR] = (v) => {
      d[TWSR] = (d[TWSR] & 0xf8) | (v & 0x03);
      return true;
    };
    cpu.writeHooks[TWDR] = (v) => {
      if (d[TWCR] & TWINT) {
        d[TWDR] = v;
        d[TWCR] &= ~TWWC;
      } else {
        d[TWCR] |= TWWC;
      }
      return true;
    };
    cpu.writeHooks[TWCR] = (v) => this.writeTwcr(v);
  }

  /** CPU cycles per SCL period. */
  get sclCycles(): number {
    const d = this.cpu.data;
    return 16 + 2 * d[TWBR] * 4 ** (d[TWSR] & 3);
  }

  get status(): number {
    return this.cpu.data[TWSR] & 0xf8;
  }

  private writeTwcr(v: number): boolean {
    const { cpu } = this;
    const d = cpu.data;
    const old = d[TWCR];
    const clearing = (v & TWINT) !== 0;
    d[TWCR] = (v & CONTROL_BITS) | (old & TWWC) | (clearing ? 0 : old & TWINT);
    if (clearing) cpu.clearInterrupt(this.twiInt, false);
    cpu.updateInterruptEnable(this.twiInt, d[TWCR]);
    if (!(v & TWEN)) {
      this.disable();
      return true;
    }
    if (clearing && !this.busy) this.begin(v);
    return true;
  }

  private disable(): void {
    if (this.ownsBus) this.bus.abandon();
    this.ownsBus = false;
    this.busy = false;
    this.setStatus(TW_NO_INFO);
  }

  /** Start the bus action the firmware asked for by clearing TWINT. */
  private begin(v: number): void {
    const s = this.status;
    if (v & TWSTA) {
      this.schedule(v & TWSTO && this.ownsBus ? 'stop-start' : 'start', v & TWSTO ? 2 : 1);
    } else if (v & TWSTO) {
      this.schedule('stop', 1);
    } else if (s === TW_START || s === TW_REP_START) {
      this.schedule('address', 9);
    } else if (s === TW_MT_SLA_ACK || s === TW_MT_DATA_ACK || s === TW_MT_SLA_NACK || s === TW_MT_DATA_NACK) {
      this.schedule('write', 9);
    } else if (s === TW_MR_SLA_ACK || s === TW_MR_DATA_ACK) {
      this.schedule('read', 9);
    }
    // Any other state: nothing happens and TWINT stays low, as on silicon.
  }

  private schedule(phase: Phase, sclPeriods: number): void {
    this.busy = true;
    const twdr = this.cpu.data[TWDR];
    this.cpu.addClockEvent(() => this.complete(phase, twdr), sclPeriods * this.sclCycles);
  }

  private complete(phase: Phase, twdr: number): void {
    if (!this.busy) return; // TWI was disabled meanwhile
    this.busy = false;
    const { bus, cpu } = this;
    const t = this.now();
    switch (phase) {
      case 'stop-start':
        bus.stop(t);
        this.ownsBus = false;
        return this.startDone(t);
      case 'start':
        return this.startDone(t);
      case 'stop':
        bus.stop(t);
        this.ownsBus = false;
        cpu.data[TWCR] &= ~TWSTO;
        this.setStatus(TW_NO_INFO); // no TWINT after a STOP
        if (cpu.data[TWCR] & TWSTA) this.begin(cpu.data[TWCR] | TWINT);
        return;
      case 'address': {
        const read = (twdr & 1) === 1;
        const ack = bus.address(twdr >> 1, read, t);
        return this.finish(read ? (ack ? TW_MR_SLA_ACK : TW_MR_SLA_NACK) : ack ? TW_MT_SLA_ACK : TW_MT_SLA_NACK);
      }
      case 'write':
        return this.finish(bus.write(twdr, t) ? TW_MT_DATA_ACK : TW_MT_DATA_NACK);
      case 'read': {
        const ack = (cpu.data[TWCR] & TWEA) !== 0;
        cpu.data[TWDR] = bus.read(ack, t);
        return this.finish(ack ? TW_MR_DATA_ACK : TW_MR_DATA_NACK);
      }
    }
  }

  private startDone(t: number): void {
    const repeated = this.ownsBus;
    this.bus.start(t);
    this.ownsBus = true;
    this.cpu.data[TWCR] &= ~TWSTO;
    this.finish(repeated ? TW_REP_START : TW_START);
  }

  private finish(status: number): void {
    this.setStatus(status);
    this.cpu.setInterruptFlag(this.twiInt);
  }

  private setStatus(status: number): void {
    const d = this.cpu.data;
    d[TWSR] = (d[TWSR] & 0x03) | status;
  }
}
