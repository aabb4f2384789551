// Splits a byte stream into whole frames without decoding them, keeping the exact bytes, so a
// link wrapper (fault injection, a gateway) can act per frame and pass everything else
// (the node's serial banner, garbage) through untouched.
import { FRAME_HEADER, FRAME_MAX_PAYLOAD, FRAME_OVERHEAD, FRAME_SOF, crc16 } from '../../../protocol/ts/index.ts';

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
    let loose = 0; // start of bytes not yet emitted as garbage
    let i = 0;
    const flushLoose = (end: number) => {
      if (end > loose) out.push({ bytes: joined.slice(loose, end), frame: false });
    };
    while (i < joined.length) {
      if (joined[i] !== FRAME_SOF) { i++; continue; }
      if (joined.length - i < 2) break;
      const len = joined[i + 1];
      if (len > FRAME_MAX_PAYLOAD) { i++; continue; }
      const total = len + FRAME_OVERHEAD;
      if (joined.length - i < total) break;
      const body = joined.subarray(i + 1, i + FRAME_HEADER + len);
      const got = joined[i + FRAME_HEADER + len] | (joined[i + FRAME_HEADER + len + 1] << 8);
      if (crc16(body) !== got) { i++; continue; }
      flushLoose(i);
      out.push({ bytes: joined.slice(i, i + total), frame: true });
      i += total;
      loose = i;
    }
    // Bytes before a possible frame start are garbage for sure; keep only the candidate.
    const keepFrom = i < joined.length ? i : joined.length;
    flushLoose(keepFrom);
    this.buf = joined.slice(keepFrom);
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
