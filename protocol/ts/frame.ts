// Frames on the byte link: SOF, length, type, sequence, payload, CRC-16 (little-endian) over
// everything after SOF. The decoder resynchronises after garbage: a candidate frame that fails
// its length or CRC check costs only its SOF byte, and scanning resumes at the next byte.
// A stray 0x7E followed by a plausible length would hold the decoder until that many bytes
// arrive; a receiver calls idle() when the line has been quiet for a few byte times, which
// drops such a candidate and rescans what it had buffered (the node does the same).
import { FRAME_HEADER, FRAME_MAX_PAYLOAD, FRAME_OVERHEAD, FRAME_SOF } from '../generated/protocol.ts';
import { crc16 } from './crc.ts';
import { ProtocolError } from './struct.ts';

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

export function encodeFrame(f: Frame): Uint8Array {
  if (f.payload.length > FRAME_MAX_PAYLOAD) throw new ProtocolError(`frame payload of ${f.payload.length} bytes exceeds ${FRAME_MAX_PAYLOAD}`, 'frame-too-big');
  const out = new Uint8Array(f.payload.length + FRAME_OVERHEAD);
  out[0] = FRAME_SOF;
  out[1] = f.payload.length;
  out[2] = f.type;
  out[3] = f.seq & 0xff;
  out.set(f.payload, FRAME_HEADER);
  const c = crc16(out.subarray(1, FRAME_HEADER + f.payload.length));
  out[FRAME_HEADER + f.payload.length] = c & 0xff;
  out[FRAME_HEADER + f.payload.length + 1] = c >> 8;
  return out;
}

export class FrameDecoder {
  private buf = new Uint8Array(0);
  /** Bytes thrown away while hunting for a frame. */
  garbage = 0;
  /** Candidate frames rejected for their CRC. */
  crcErrors = 0;

  constructor(private readonly maxPayload = FRAME_MAX_PAYLOAD) {}

  /** Feeds received bytes; returns every complete, valid frame among them. */
  push(bytes: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf);
    joined.set(bytes, this.buf.length);
    return this.scan(joined, 0);
  }

  /** The line went quiet: a partial frame can never complete, so rescan past its SOF. */
  idle(): Frame[] {
    if (this.buf.length === 0) return [];
    this.garbage++;
    return this.scan(this.buf, 1);
  }

  /** True while a candidate frame is buffered, waiting for its remaining bytes. */
  get pending(): boolean {
    return this.buf.length > 0;
  }

  private scan(joined: Uint8Array, start: number): Frame[] {
    const frames: Frame[] = [];
    let i = start;
    while (i < joined.length) {
      if (joined[i] !== FRAME_SOF) { i++; this.garbage++; continue; }
      if (joined.length - i < 2) break;
      const len = joined[i + 1];
      if (len > this.maxPayload) { i++; this.garbage++; continue; }
      const total = len + FRAME_OVERHEAD;
      if (joined.length - i < total) break;
      const body = joined.subarray(i + 1, i + FRAME_HEADER + len);
      const got = joined[i + FRAME_HEADER + len] | (joined[i + FRAME_HEADER + len + 1] << 8);
      if (crc16(body) !== got) { i++; this.crcErrors++; continue; }
      frames.push({ type: joined[i + 2], seq: joined[i + 3], payload: joined.slice(i + FRAME_HEADER, i + FRAME_HEADER + len) });
      i += total;
    }
    this.buf = joined.slice(i);
    return frames;
  }
}
