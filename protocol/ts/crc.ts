// The two CRCs of the protocol (definitions in protocol/spec.ts `crcs`), from the `crc` package.
import crc32Lib from 'crc/crc32';
import crc16ccittLib from 'crc/crc16ccitt';

/** CRC-32/ISO-HDLC (zlib). `previous` continues a running CRC. */
export function crc32(data: Uint8Array, previous?: number): number {
  return crc32Lib(Buffer.from(data.buffer, data.byteOffset, data.byteLength), previous) >>> 0;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF). */
export function crc16(data: Uint8Array, previous?: number): number {
  return crc16ccittLib(Buffer.from(data.buffer, data.byteOffset, data.byteLength), previous) & 0xffff;
}
