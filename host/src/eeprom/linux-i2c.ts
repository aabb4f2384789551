// Opens a Linux i2c-dev bus (/dev/i2c-N) with the i2c-bus package. It is an optional
// dependency (a native addon), so it is loaded only when a command needs real hardware.
import { accessSync, constants } from 'node:fs';
import { CliError } from '../cli/errors.ts';
import type { I2cTransport } from './i2c-writer.ts';

export interface OpenBus extends I2cTransport {
  close(): Promise<void>;
}

export async function openLinuxI2c(busNumber: number): Promise<OpenBus> {
  // i2c-bus reports a missing or forbidden device from inside a callback that never settles
  // its promise, so check the device node first and say what is wrong.
  const dev = `/dev/i2c-${busNumber}`;
  try {
    accessSync(dev, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such bus (load i2c-dev: sudo modprobe i2c-dev; list buses with i2cdetect -l)' : 'permission denied (add yourself to the i2c group)';
    throw new CliError(`cannot open ${dev}: ${why}`, 'no-bus', 3);
  }
  let mod: { openPromisified(n: number): Promise<OpenBus> };
  try {
    const name = 'i2c-bus'; // a variable keeps TypeScript from needing its (absent) type declarations
    mod = (await import(name)) as never;
  } catch (err) {
    throw new CliError(`the i2c-bus package is not installed or did not build (${(err as Error).message}); run 'npm install i2c-bus' on a Linux machine`, 'no-i2c', 3);
  }
  try {
    return await mod.openPromisified(busNumber);
  } catch (err) {
    throw new CliError(`cannot open /dev/i2c-${busNumber}: ${(err as Error).message} (is i2c-dev loaded and are you in the i2c group?)`, 'no-bus', 3);
  }
}
