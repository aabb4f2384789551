// Splits a byte stream into whole frames without decoding them, keeping the exact bytes, so a
// link wrapper (fault injection, a gateway) can act per frame and pass everything else
// (the node's serial banner, garbage) through untouched.
import { findFrame } from '../../../protocol/ts/index.ts';

export interface Unit {
  bytes: Uint8Array;
  /** True for a complete frame with a good CRC; false for bytes between frames. */
  frame: boolean;
}

export class FrameSplitter {
  private buf = new Uint8Array(0);

  push(bytes: Uint8Array): Unit[] {
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf);
    joined.set(bytes, this.buf.length);
    const out: Unit[] = [];
    let i = 0;
    for (;;) {
      const hit = findFrame(joined, i);
      // Bytes before a frame or a candidate are garbage for sure; keep only the candidate.
      const stop = hit.kind === 'none' ? joined.length : hit.start;
      if (stop > i) out.push({ bytes: joined.slice(i, stop), frame: false });
      i = stop;
      if (hit.kind !== 'frame') break;
      out.push({ bytes: joined.slice(hit.start, hit.end), frame: true });
      i = hit.end;
    }
    this.buf = joined.slice(i);
    return out;
  }

  /** The line went quiet: whatever is buffered will never complete a frame. */
  flush(): Unit[] {
    const rest = this.buf;
    this.buf = new Uint8Array(0);
    return rest.length ? [{ bytes: rest, frame: false }] : [];
  }
}

/** Type and sequence number of an encoded frame. */
export function frameHeaderOf(bytes: Uint8Array): { type: number; seq: number } {
  return { type: bytes[2], seq: bytes[3] };
}
