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
    for (;;) {
      let crcRejects = 0;
      const hit = findFrame(joined, i, this.maxPayload, (why) => { if (why === 'crc') crcRejects++; });
      const stop = hit.kind === 'none' ? joined.length : hit.start;
      this.crcErrors += crcRejects;
      this.garbage += stop - i - crcRejects;
      i = stop;
      if (hit.kind !== 'frame') break;
      frames.push({ type: joined[i + 2], seq: joined[i + 3], payload: joined.slice(i + FRAME_HEADER, hit.end - 2) });
      i = hit.end;
    }
    this.buf = joined.slice(i);
    return frames;
  }
}

/** The next valid frame from `from` on; a candidate still waiting for bytes; or none at all. */
export type FrameHit = { kind: 'frame'; start: number; end: number } | { kind: 'partial'; start: number } | { kind: 'none' };

/**
 * Finds the next valid frame in buf[from..]. A SOF whose length is too large or whose CRC
 * fails costs one byte, and the search goes on at the next byte; `onReject` is told why and
 * where. The one scanner behind FrameDecoder and the byte-exact frame splitter of the links.
 */
export function findFrame(buf: Uint8Array, from: number, maxPayload = FRAME_MAX_PAYLOAD, onReject?: (why: 'length' | 'crc', at: number) => void): FrameHit {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== FRAME_SOF) continue;
    if (buf.length - i < 2) return { kind: 'partial', start: i };
    const len = buf[i + 1];
    if (len > maxPayload) { onReject?.('length', i); continue; }
    const end = i + len + FRAME_OVERHEAD;
    if (buf.length < end) return { kind: 'partial', start: i };
    const got = buf[end - 2] | (buf[end - 1] << 8);
    if (crc16(buf.subarray(i + 1, end - 2)) !== got) { onReject?.('crc', i); continue; }
    return { kind: 'frame', start: i, end };
  }
  return { kind: 'none' };
}
