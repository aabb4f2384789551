// The contiguous payload an image carries for a sparse flash image: from the start of the
// first flash page the firmware touches to its last byte, gaps filled with 0xFF (what erased
// flash holds, so filling programs nothing a page erase would not).
import { extent, flatten, type Segment } from './memory.ts';

export interface Payload {
  loadAddr: number;
  data: Uint8Array;
}

export function payloadOf(segments: readonly Segment[], pageSize: number): Payload {
  const ext = extent(segments);
  if (!ext) return { loadAddr: 0, data: new Uint8Array(0) };
  const loadAddr = pageSize > 0 ? ext.start - (ext.start % pageSize) : ext.start;
  return { loadAddr, data: flatten(segments, loadAddr, ext.end) };
}
