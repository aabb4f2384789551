// An I2cTransport over the simulated I2C bus and EEPROM part, with virtual time: what the
// `eeprom write` tests use instead of /dev/i2c-N. A NACKed address raises the same kind of
// error i2c-dev does (EREMOTEIO).
import { I2cBus } from '../../host/src/sim/i2c-bus.ts';
import type { I2cTransport, Clock } from '../../host/src/eeprom/i2c-writer.ts';

const BYTE_SECONDS = 9 / 400_000; // 400 kHz bus, 9 clocks a byte

export class SimI2cTransport implements I2cTransport, Clock {
  t = 0;
  transactions = 0;
  constructor(readonly bus: I2cBus) {}

  now(): number {
    return this.t * 1000;
  }

  async sleep(ms: number): Promise<void> {
    this.t += ms / 1000;
  }

  async i2cWrite(address: number, length: number, buffer: Buffer): Promise<unknown> {
    this.begin(address, false);
    for (let i = 0; i < length; i++) {
      this.t += BYTE_SECONDS;
      if (!this.bus.write(buffer[i], this.t)) return this.fail(address, 'data NACK');
    }
    this.bus.stop(this.t);
    return { bytesWritten: length };
  }

  async i2cRead(address: number, length: number, buffer: Buffer): Promise<unknown> {
    this.begin(address, true);
    for (let i = 0; i < length; i++) {
      this.t += BYTE_SECONDS;
      buffer[i] = this.bus.read(i < length - 1, this.t);
    }
    this.bus.stop(this.t);
    return { bytesRead: length };
  }

  private begin(address: number, read: boolean): void {
    this.transactions++;
    this.bus.start(this.t);
    this.t += BYTE_SECONDS;
    if (!this.bus.address(address, read, this.t)) this.fail(address, 'address NACK');
  }

  private fail(address: number, what: string): never {
    this.bus.stop(this.t);
    throw Object.assign(new Error(`EREMOTEIO: Remote I/O error (${what} from 0x${address.toString(16)})`), { code: 'EREMOTEIO' });
  }
}
