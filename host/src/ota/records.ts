// The EEPROM records as the host handles them in protocol 2: it reads a record (both copies with
// READ, the newest valid one picked as the node picks it), decides the next version, and sends
// it in RECORD, without its CRC field, naming the seq it read. The node writes it to the other
// copy with the next seq and its CRC (protocol/STATES.md), or answers STALE when its newest
// record is not the one the host read: the host's decision was based on an old state and is
// made again.
import {
  NO_SLOT, Status, decodeStruct, encodeStruct, layouts,
  type BootRecord, type ImageHeader, type SlotRecord,
} from '../../../protocol/ts/index.ts';
import { refusal } from './errors.ts';

export type RecordName = 'BootRecord' | 'SlotRecord';
type RecordOf<N extends RecordName> = N extends 'BootRecord' ? BootRecord : SlotRecord;

/** A record as read: the newest valid copy (null: none) and the seq a RECORD must name (0: none). */
export interface RecordRead<R> {
  record: R | null;
  seq: number;
}

export function recordRead<R extends { seq: number }>(record: R | null): RecordRead<R> {
  return { record, seq: record?.seq ?? 0 };
}

/** RECORD's `which`: 0 the boot record, 1 + i slot i. */
export const BOOT_RECORD = 0;
export const slotWhich = (slot: number) => 1 + slot;

/** An all-zero image header: what an EMPTY slot record holds. */
export function noHeader(): ImageHeader {
  return decodeStruct('ImageHeader', new Uint8Array(layouts.ImageHeader.size));
}

/** What the host shows when the EEPROM holds no valid boot record: nothing to do, nothing known. */
export function noBootRecord(): BootRecord {
  return { seq: 0, state: 0, flags: 0, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT, result: 0, attempts: 0, reserved: new Uint8Array(3), crc: 0 };
}

export function bootRecord(fields: Omit<BootRecord, 'seq' | 'reserved' | 'crc'>): BootRecord {
  return { seq: 0, reserved: new Uint8Array(3), crc: 0, ...fields };
}

/** Two records say the same thing: every field but seq and CRC, which the node sets. */
export function sameRecord<N extends RecordName>(name: N, a: RecordOf<N>, b: RecordOf<N>): boolean {
  const size = layouts[name].size;
  const enc = (r: RecordOf<N>) => encodeStructOf(name, r).subarray(2, size - 4);
  const x = enc(a);
  const y = enc(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Two image headers are byte for byte the same (a resume needs the very same image). */
export function sameHeader(a: ImageHeader, b: ImageHeader): boolean {
  const x = encodeStructOf('ImageHeader', a);
  const y = encodeStructOf('ImageHeader', b);
  return x.every((v, i) => v === y[i]);
}

function encodeStructOf(name: RecordName | 'ImageHeader', v: unknown): Uint8Array {
  return encodeStruct(name, v as never);
}

export interface RecordIo<N extends RecordName> {
  name: N;
  /** RECORD's which. */
  which: number;
  /** Names the record in errors, e.g. "of slot 1". */
  context: string;
  read(): Promise<RecordRead<RecordOf<N>>>;
  /** Sends RECORD with the seq read; resolves with the node's status. */
  write(record: RecordOf<N>, seq: number): Promise<number>;
}

/**
 * Writes the next version of a record. `next` sees the newest record (null: none) and returns
 * the record wanted, or null when nothing needs writing; it may throw a refusal. The write is
 * idempotent under retries and lost replies: a RECORD whose reply was lost and that is sent
 * again finds its own write there (STALE), and the re-read shows the record already says what
 * was wanted. On a real STALE (the node persisted progress, the bootloader or another host
 * wrote) the decision is made again on the new record, once. `first`: the record the caller
 * has just read, if it has.
 */
export async function updateRecord<N extends RecordName>(
  io: RecordIo<N>, next: (cur: RecordOf<N> | null) => RecordOf<N> | null, first?: RecordRead<RecordOf<N>>,
): Promise<void> {
  let cur = first ?? await io.read();
  for (let attempt = 0; ; attempt++) {
    const want = next(cur.record);
    if (!want || (cur.record && sameRecord(io.name, cur.record, want))) return;
    const status = await io.write(want, cur.seq);
    if (status === Status.OK) return;
    if (status !== Status.STALE) throw refusal('RECORD', status, io.context);
    cur = await io.read();
    if (cur.record && sameRecord(io.name, cur.record, want)) return;
    if (attempt >= 1) throw refusal('RECORD', status, io.context);
  }
}
