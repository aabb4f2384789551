// A raw binary is flash contents from a load address (0 unless told otherwise), as
// `avr-objcopy -O binary` writes it. It carries no addresses, so nothing can be checked.
import type { Segment } from './memory.ts';

export function parseBin(bytes: Uint8Array, address = 0): Segment[] {
  if (!Number.isInteger(address) || address < 0) throw new RangeError(`load address must be a non-negative integer, not ${address}`);
  return bytes.length === 0 ? [] : [{ address, data: Uint8Array.from(bytes) }];
}
