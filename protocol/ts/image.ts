// The stageboot image: one 36-byte header, then the payload. The same bytes are an image
// file, what BEGIN + DATA carry, and what a slot holds (header in the record, payload in data).
import { IMAGE_FORMAT, IMAGE_MAGIC, layouts, type ImageHeader } from '../generated/protocol.ts';
import { crc32 } from './crc.ts';
import { decodeStruct, encodeStruct, ProtocolError } from './struct.ts';

export const IMAGE_HEADER_SIZE = layouts.ImageHeader.size;
const HEADER_CRC_SPAN = IMAGE_HEADER_SIZE - 4;

export interface ImageOptions {
  signature: Uint8Array;
  loadAddr?: number;
  appVersion?: number;
  buildId?: number;
  flags?: number;
}

export interface Image {
  header: ImageHeader;
  payload: Uint8Array;
}

/** Builds a header for `payload`; the build id defaults to the payload CRC. */
export function makeHeader(payload: Uint8Array, o: ImageOptions): ImageHeader {
  return headerFor(payload.length, crc32(payload), o);
}

/**
 * A header for a payload known only by its length and CRC-32 (e.g. a node's running flash, which
 * the host never sees: INFO reports its appLen and appCrc). The build id defaults to the CRC.
 */
export function headerFor(length: number, payloadCrc: number, o: ImageOptions): ImageHeader {
  const h: ImageHeader = {
    magic: IMAGE_MAGIC, format: IMAGE_FORMAT, headerSize: IMAGE_HEADER_SIZE, flags: o.flags ?? 0,
    signature: Uint8Array.from(o.signature), reserved: 0, loadAddr: o.loadAddr ?? 0, length,
    payloadCrc, appVersion: o.appVersion ?? 0, buildId: o.buildId ?? payloadCrc, headerCrc: 0,
  };
  h.headerCrc = crc32(encodeStruct('ImageHeader', h).subarray(0, HEADER_CRC_SPAN));
  return h;
}

export function encodeHeader(h: ImageHeader): Uint8Array {
  return encodeStruct('ImageHeader', h);
}

/** Decodes and checks a header: magic, format, size and its own CRC. */
export function decodeHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length < IMAGE_HEADER_SIZE) throw new ProtocolError(`image header needs ${IMAGE_HEADER_SIZE} bytes, got ${bytes.length}`, 'short-header');
  const h = decodeStruct('ImageHeader', bytes);
  if (h.magic !== IMAGE_MAGIC) throw new ProtocolError(`not a stageboot image (magic 0x${h.magic.toString(16)})`, 'bad-magic');
  if (h.format !== IMAGE_FORMAT) throw new ProtocolError(`image format ${h.format} is not supported (this tool reads format ${IMAGE_FORMAT})`, 'bad-format');
  if (h.headerSize !== IMAGE_HEADER_SIZE) throw new ProtocolError(`image header size ${h.headerSize} is not ${IMAGE_HEADER_SIZE}`, 'bad-header-size');
  const want = crc32(bytes.subarray(0, HEADER_CRC_SPAN));
  if (h.headerCrc !== want) throw new ProtocolError(`image header CRC is 0x${hex32(h.headerCrc)}, computed 0x${hex32(want)}: the header is corrupt`, 'bad-header-crc');
  return h;
}

export function encodeImage(img: Image): Uint8Array {
  const out = new Uint8Array(IMAGE_HEADER_SIZE + img.payload.length);
  out.set(encodeHeader(img.header));
  out.set(img.payload, IMAGE_HEADER_SIZE);
  return out;
}

export function isImage(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) === IMAGE_MAGIC;
}

/** Decodes an image file and checks the header, the length and the payload CRC. */
export function decodeImage(bytes: Uint8Array): Image {
  const header = decodeHeader(bytes);
  const payload = bytes.slice(IMAGE_HEADER_SIZE);
  if (payload.length !== header.length) {
    throw new ProtocolError(`image payload is ${payload.length} bytes but the header says ${header.length}: the file is truncated or padded`, 'bad-length');
  }
  const crc = crc32(payload);
  if (crc !== header.payloadCrc) throw new ProtocolError(`image payload CRC is 0x${hex32(crc)}, header says 0x${hex32(header.payloadCrc)}`, 'bad-payload-crc');
  return { header, payload };
}

export function hex32(v: number): string {
  return (v >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
