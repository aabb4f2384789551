// The EEPROM file system: a superblock, a boot record and a directory of slots, each record
// kept twice so that a torn page write can only ever destroy the copy being written.
// The rules are in protocol/STATES.md; the C side (bootloader, sketch-lib) follows the same.
import {
  FS_BOOT_REC_A, FS_BOOT_REC_B, FS_LAYOUT, FS_MAGIC, FS_MAX_SLOTS, FS_REC_PITCH, FS_SLOT_REC_BASE,
  BootState, SlotState, layouts,
  type BootRecord, type SlotRecord, type Superblock,
} from '../generated/protocol.ts';
import type { ChipGeometry } from './chips.ts';
import { crc32 } from './crc.ts';
import { decodeStruct, encodeStruct, ProtocolError } from './struct.ts';

export type RecordName = 'BootRecord' | 'SlotRecord';

export function defaultSlotCount(chipSize: number): number {
  if (chipSize <= 32 * 1024) return 1;
  if (chipSize <= 64 * 1024) return 2;
  return 4;
}

/** Plans a layout for a chip: where the data areas start and how big each slot is. */
export function planLayout(chip: ChipGeometry, slotCount = defaultSlotCount(chip.size)): Superblock {
  if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > FS_MAX_SLOTS) {
    throw new ProtocolError(`slot count ${slotCount} must be 1 to ${FS_MAX_SLOTS}`, 'bad-slot-count');
  }
  const recPitch = Math.max(FS_REC_PITCH, chip.pageSize);
  const metaEnd = (FS_SLOT_REC_BASE + 2 * slotCount) * recPitch;
  const dataStart = Math.ceil(metaEnd / chip.pageSize) * chip.pageSize;
  const slotSize = Math.floor((chip.size - dataStart) / slotCount / chip.pageSize) * chip.pageSize;
  if (slotSize < chip.pageSize) throw new ProtocolError(`a ${chip.size}-byte EEPROM has no room for ${slotCount} slots`, 'no-room');
  const sb: Superblock = {
    magic: FS_MAGIC, layout: FS_LAYOUT, slotCount, pageSize: chip.pageSize, recPitch, reserved: 0,
    chipSize: chip.size, dataStart, slotSize, crc: 0,
  };
  sb.crc = crc32(encodeStruct('Superblock', sb).subarray(0, layouts.Superblock.size - 4));
  return sb;
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  return encodeStruct('Superblock', sb);
}

/** The superblock at EEPROM address 0, or null when the EEPROM is not formatted. */
export function decodeSuperblock(bytes: Uint8Array): Superblock | null {
  const size = layouts.Superblock.size;
  if (bytes.length < size) return null;
  const sb = decodeStruct('Superblock', bytes);
  if (sb.magic !== FS_MAGIC || sb.layout !== FS_LAYOUT) return null;
  if (crc32(bytes.subarray(0, size - 4)) !== sb.crc) return null;
  return sb;
}

export function slotDataAddr(sb: Superblock, slot: number): number {
  return sb.dataStart + slot * sb.slotSize;
}

/** EEPROM addresses of the two copies of a record. */
export function recordAddrs(pitch: number, which: 'boot' | number): [number, number] {
  if (which === 'boot') return [FS_BOOT_REC_A * pitch, FS_BOOT_REC_B * pitch];
  return [(FS_SLOT_REC_BASE + 2 * which) * pitch, (FS_SLOT_REC_BASE + 2 * which + 1) * pitch];
}

const validStates: Record<RecordName, Set<number>> = {
  BootRecord: new Set(Object.values(BootState)),
  SlotRecord: new Set(Object.values(SlotState)),
};

/** Encodes a record with its CRC filled in. */
export function encodeRecord<N extends RecordName>(name: N, rec: N extends 'BootRecord' ? BootRecord : SlotRecord): Uint8Array {
  const bytes = encodeStruct(name, rec as never);
  const size = layouts[name].size;
  new DataView(bytes.buffer).setUint32(size - 4, crc32(bytes.subarray(0, size - 4)), true);
  return bytes;
}

/** A record copy, or null when it is torn, erased or never written. */
export function decodeRecord<N extends RecordName>(name: N, bytes: Uint8Array): (N extends 'BootRecord' ? BootRecord : SlotRecord) | null {
  const size = layouts[name].size;
  if (bytes.length < size) return null;
  const rec = decodeStruct(name, bytes) as BootRecord | SlotRecord;
  if (crc32(bytes.subarray(0, size - 4)) !== rec.crc) return null;
  if (!validStates[name].has(rec.state)) return null;
  return rec as never;
}

/** True when sequence number a is newer than b (16-bit serial arithmetic). */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}

export interface Pick<R> {
  record: R | null;
  /** Index (0 = A, 1 = B) of the copy the next write must go to: never the newest valid one. */
  writeTo: 0 | 1;
  nextSeq: number;
}

/** Chooses the newest valid of two copies and where the next write goes. */
export function pickRecord<R extends { seq: number }>(a: R | null, b: R | null): Pick<R> {
  if (a && b) {
    const aNew = seqNewer(a.seq, b.seq);
    return aNew ? { record: a, writeTo: 1, nextSeq: (a.seq + 1) & 0xffff } : { record: b, writeTo: 0, nextSeq: (b.seq + 1) & 0xffff };
  }
  if (a) return { record: a, writeTo: 1, nextSeq: (a.seq + 1) & 0xffff };
  if (b) return { record: b, writeTo: 0, nextSeq: (b.seq + 1) & 0xffff };
  return { record: null, writeTo: 0, nextSeq: 1 };
}
